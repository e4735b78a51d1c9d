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

## `check --upload` (crates/daemon/src/check_upload.rs).

upload-sent = Rapport envoyé au back-office. Numéro de rapport à donner par téléphone : { $id }
upload-failed = Le rapport n'a pas pu être envoyé au back-office : { $error }. Rien n'est perdu : le rapport est affiché ci-dessus (ou écrit dans le fichier de --out) et conservé dans { $kept }. Relancez check --upload quand le réseau est revenu, ou donnez au support le numéro de rapport { $id }.
upload-token-refused = Le back-office a refusé le jeton de la sonde lu dans { $path } ({ $error }) : il est erroné, révoqué, ou émis pour une autre sonde. Demandez au support un jeton pour la sonde { $probe }, écrivez-le dans ce fichier, puis relancez check --upload. Le rapport (numéro { $id }) est affiché ci-dessus et conservé dans { $kept }.
upload-rejected = Le back-office a refusé ce rapport ({ $error }). Donnez au support le numéro de rapport { $id } et le fichier { $kept } ; le rapport est affiché ci-dessus.
upload-token-unreadable = Impossible de lire le jeton de la sonde ({ $error }). Écrivez dans { $path } le jeton de sonde fourni par le support, sur une ligne, puis relancez le test. Rien n'a été testé ni envoyé.
upload-bad-flags = check --upload ne peut pas envoyer à ce back-office : { $error }. Rien n'a été testé ni envoyé.
upload-no-token = check --upload a besoin du fichier qui contient le jeton de la sonde : ajoutez --upload-token FICHIER.

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

## Avertissements sur le jeu de cibles (engine/src/targets.rs).

target-warning-anchors-missing = pas d'ancres { $family } dans { $path } : impossible de distinguer les familles d'AC tant que l'exploitant n'y a pas déposé le fichier PEM{ $lookup ->
    [by-name] {" "}(ou faites pointer { $variable } vers le dossier qui le contient)
   *[relative] {""}
} ; l'accès aux ports est quand même vérifié

## Les refus de la liste des adresses autorisées, avant tout envoi (engine/src/check.rs).

refused-address = site « { $site } » ({ $ip }) refusé : { $why }
refused-not-allowed = { $addr } est hors de la liste des adresses autorisées ({ $list }) ; ajoutez --allow avec un réseau qui la contient
refused-above-ceiling = { $addr } est hors de { $variable } ({ $list }) ; aucune option ne peut lever ce plafond : modifiez l'environnement si cette destination est vraiment voulue
refused-resolver = le site « { $site } » est un nom d'hôte : le résoudre contacterait { $count ->
    [one] le serveur DNS
   *[other] les serveurs DNS
} { $servers }, hors de la liste des adresses autorisées ; ajoutez --allow avec les réseaux du serveur DNS et de la passerelle, ou indiquez l'adresse IP de la passerelle
refused-resolver-ceiling = le site « { $site } » est un nom d'hôte : le résoudre contacterait { $count ->
    [one] le serveur DNS
   *[other] les serveurs DNS
} { $servers }, hors de { $variable } ({ $list }) ; aucune option ne peut lever ce plafond : indiquez l'adresse IP de la passerelle, ou modifiez l'environnement si ce serveur DNS est vraiment voulu

## Valeurs de la ligne de commande (engine/src/cli.rs).

duration-invalid = « { $value } » : { $error } (écrivez 10m, 90s, 1m 30s)
duration-zero = « { $value } » n'est pas une durée

## Une commande absente de cette version (src/absent.rs).

absent-command = « { $name } » fait partie { $part ->
    [lab] du labo
   *[backoffice] du back-office
}, absent de cette version de stca2-probe{ $shop ->
    [yes] {" "}(c'est la version boutique : `check` et `daemon` seulement)
   *[no] {""}
}. Lancez-la depuis la version complète, sur le serveur du back-office ou un poste de travail : `cargo build --release` (fonctionnalités par défaut), ou le paquet stca2-probe construit ainsi.
