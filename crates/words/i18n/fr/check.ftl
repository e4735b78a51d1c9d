# Ce que `check`, `demo` et `lab` affichent autour du verdict : les
# libellés et le tableau du rapport, les lignes de progression, et les
# erreurs sur lesquelles une personne doit agir. (Les phrases du verdict
# sont dans verdict.ftl.) Espace insécable U+00A0 avant « : ; ! ? ».

## Le rapport.

report-failover = Connectivité secondaire :
# La ligne de la connectivité secondaire : le libellé seul sur sa ligne,
# la recommandation en dessous (pas de majuscule après un deux-points).
report-failover-line =
    { $label }
    { $message }
report-findings = Constats :
report-warnings = Avertissements :
report-severity = { $severity ->
    [error] erreur
    [warning] avertissement
   *[info] info
}
report-footer = rapport { $id } | jeu de cibles { $set } | sonde { $probe } | { $when }
report-finding-line = - { $severity } ({ $code }) : { $message }

## Le tableau : les en-têtes, puis les mots des cellules.

table-site = SITE
table-role = RÔLE
table-target = CIBLE
table-service = SERVICE
table-tcp = TCP
table-tls = TLS
table-ca = AC
table-connect = CONNEXION p50/p99
table-handshake = NÉGO TLS p50
table-none = -
table-role-value = { $role ->
    [primary] principal
    [secondary] secours
   *[other] { $role }
}
table-service-value = { $service ->
    [stca2] STCA2
    [declaration] déclaration
   *[other] autre
}
table-tcp-status = { $status ->
    [open] ouvert
    [timeout] sans réponse
    [refused] refusé
    [unreachable] injoignable
    [error] erreur
   *[other] { $status }
}
table-tls-status = { $status ->
    [ok] ok
    [alert] alerte
    [reset] coupé (RST)
    [eof] fermé
    [timeout] sans réponse
    [client_auth_required] certificat client demandé
    [error] erreur
   *[other] { $status }
}
table-ca-unknown = inconnue

## Comment lire le tableau (`stca2-probe check --explain`).

explain-title = Comment lire le rapport :
explain-tcp-timeout = TCP « sans réponse » : un routeur jette silencieusement la demande de connexion. Ouvrez en sortie le port TCP indiqué vers l'adresse indiquée, sur la box du commerçant.
explain-tcp-refused = TCP « refusé » : quelque chose répond par un reset (un pare-feu qui rejette, ou rien n'écoute). Ouvrez en sortie le port TCP indiqué vers l'adresse indiquée, sur la box du commerçant ; si cela continue alors que le port est ouvert, appelez l'exploitant de la passerelle.
explain-tcp-unreachable = TCP « injoignable » : une erreur ICMP est revenue (hôte ou réseau injoignable, interdiction administrative). C'est une règle de routage ou de pare-feu sur le chemin : donnez au FAI la ligne de détail.
explain-tls-reset = TLS « coupé (RST) » juste après l'ouverture TCP : un équipement de filtrage coupe la négociation TLS. Désactivez l'« inspection SSL » ou le DPI pour ces adresses.
explain-ca-stca = AC « STCA » : l'ancienne chaîne de certificats est encore présentée. La passerelle n'est pas migrée (ou un ancien proxy répond).
explain-ca-unknown = AC « inconnue » : la chaîne ne correspond à aucune des deux autorités. Interception TLS suspectée sur le réseau du commerçant ; l'émetteur est indiqué.
explain-tls-client-auth = TLS « certificat client demandé » sur le port 7212 : le port déclaration du terminal demande un certificat de terminal. C'est normal pour la vraie passerelle, pas une panne.
explain-not-measured = TCP « erreur » avec le constat not_measured : la sonde n'a pas testé ce port (la liste des adresses autorisées a refusé l'adresse ou son serveur DNS, ou une erreur locale s'est produite, par exemple un --source qui n'est pas une adresse de cette machine). Cela ne dit rien de la box ; corrigez les options ou la liste des adresses autorisées de la sonde, puis relancez le test.

## `check`.

check-progress = test du jeu de cibles { $set } ({ $sites ->
    [one] { $sites } site
   *[other] { $sites } sites
} × { $ports ->
    [one] { $ports } port
   *[other] { $ports } ports
} = { $total ->
    [one] { $total } cible
   *[other] { $total } cibles
}, { $attempts ->
    [one] { $attempts } essai
   *[other] { $attempts } essais
} par cible, { $timeout } maximum par étape)…
check-ceiling-empty = { $variable } est définie mais vide, ce qui n'autorise rien : supprimez-la, ou listez les réseaux que la sonde peut contacter
check-nothing-sent = rien n'a été envoyé : aucune cible de { $path } n'a été contactée
check-cannot-write = impossible d'écrire { $path }

## `check --watch`.

watch-start = Surveillance : un nouveau test toutes les { $every }, pendant { $timeout } au plus. Modifiez les règles de la box maintenant ; Ctrl-C pour arrêter.
watch-verdict = { $time } — { $headline }
watch-changed = Port TCP { $port } vers { $host } : { $change }
watch-change = { $what ->
    [open] désormais ouvert
    [answers] répond désormais en TLS
    [ready] désormais ouvert, répond en STCA2
    [not-measured] non mesuré
    [closed] désormais fermé
    [tls-failing] connexion TCP établie, échec de la négociation TLS
    [not-stca2] répond sans certificat STCA2
   *[other] désormais { $what }
}
watch-ready = Tout est prêt : le terminal peut passer en STCA2.
watch-timeout = Toujours pas prêt après { $timeout } : arrêt (code de sortie 1). Le dernier verdict est affiché au-dessus.

## `check --upload`.

upload-sent = Rapport envoyé au back-office. Numéro de rapport à donner par téléphone : { $id }
upload-failed = Le rapport n'a pas pu être envoyé au back-office : { $error }. Il est affiché ci-dessus ; renvoyez-le avec check --upload, ou donnez au support le numéro de rapport { $id }.
upload-no-config = check --upload a besoin de l'adresse du back-office et du jeton de la sonde : ajoutez --config avec le fichier de configuration du démon ({ $default }).

## `demo` et `lab`.

demo-serving = démo : une passerelle simulée (scénario `{ $scenario }`) écoute sur { $addresses } ; test en cours…
lab-list-scenarios = scénarios :
lab-list-behaviours = comportements (utilisables aussi avec --scenario, pour tous les sites et ports) :
lab-started = stca2-probe lab : scénario `{ $scenario }`
lab-ca-written = Certificats d'AC écrits dans { $path }
lab-targets-written = Fichier de cibles écrit dans { $path }
lab-next = Dans un autre terminal : stca2-probe check --targets { $path }
lab-stop = Ctrl-C pour arrêter.
lab-unknown-scenario = `{ $name }` n'est ni un scénario ni un comportement : choisissez un scénario ({ $scenarios }) ou un comportement pour tous les sites et ports ({ $behaviours }) ; `stca2-probe lab --list` les décrit
