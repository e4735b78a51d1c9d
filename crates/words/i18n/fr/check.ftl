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

## `lab --list` : ce que simule chaque scénario et chaque comportement.

lab-scenario-healthy = les deux sites ont migré : STCA2 sur 1146, demande de certificat client avec la chaîne STCA2 sur 7212
lab-scenario-primary-blocked = la box bloque le site 1 (principal) sur les deux ports ; le site 2 fonctionne : configurez le site 2 comme passerelle de secours et ouvrez l'accès au site 1
lab-scenario-secondary-blocked = le site 1 fonctionne, la box bloque le site 2 (secours) sur les deux ports : la connectivité secondaire ne fonctionnerait pas
lab-scenario-both-blocked = la box bloque les deux sites sur tous les ports : aucune migration possible
lab-scenario-old-ca = les deux sites présentent encore l'ancienne chaîne STCA sur tous les ports
lab-scenario-intercepted = un équipement qui inspecte le TLS répond à la place des deux sites avec sa propre chaîne
lab-scenario-mixed = site 1 en ordre (STCA2 sur 1146, certificat client demandé sur 7212) ; site 2 muet sur 1146 (silent : connexion TCP acceptée, aucune réponse TLS) et refusé sur 7212 (closed) : le terminal fonctionne, mais le site 2 ne pourrait pas servir de secours
lab-scenario-slow = les deux sites ont migré, mais le port STCA2 (1146) ne répond en TLS qu'après un délai (slow_delay)
lab-scenario-expired = les deux sites présentent sur 1146 un certificat STCA2 expiré
lab-scenario-uniform = tous les sites et tous les ports : { $behaviour }
lab-behaviour-stca2 = TLS, chaîne STCA2 (certificat serveur + intermédiaire)
lab-behaviour-stca = TLS, ancienne chaîne STCA
lab-behaviour-closed = rien n'écoute (connexion refusée)
lab-behaviour-silent = accepte la connexion TCP, ne répond jamais
lab-behaviour-reset-after-hello = lit le ClientHello, puis coupe la connexion (RST)
lab-behaviour-client-auth = TLS, chaîne STCA2, exige un certificat client
lab-behaviour-interceptor = TLS, chaîne issue d'une racine d'interception étrangère à STCA et STCA2
lab-behaviour-expired = TLS, certificat serveur STCA2 expiré
lab-behaviour-slow = TLS, chaîne STCA2, après un délai
lab-behaviour-tls12-only = TLS 1.2 seulement, chaîne STCA2
lab-behaviour-garbage = répond par des octets qui ne sont pas du TLS (HTTP 400)
lab-behaviour-legacy-stca = ancienne pile TLS 1.2, chaîne STCA
lab-behaviour-forged = TLS, certificat serveur contrefait qui se dit émis par l'intermédiaire STCA2, + le vrai intermédiaire

## Avertissements sur le jeu de cibles (engine/src/targets.rs).

target-warning-anchors-missing = pas d'ancres { $family } dans { $path } : impossible de distinguer les familles d'AC tant que l'exploitant n'y a pas déposé le fichier PEM{ $lookup ->
    [by-name] {" "}(ou faites pointer { $variable } vers le dossier qui le contient)
   *[relative] {""}
} ; l'accès aux ports est quand même vérifié

## Les refus de la liste des adresses autorisées, avant tout envoi (engine/src/check.rs).

refused-address = site « { $site } » ({ $ip }) refusé : { $why }
refused-not-allowed = { $addr } est hors de la liste des adresses autorisées ({ $list }) ; { $fix ->
    [key] ajoutez à la clé `allow`
   *[flag] ajoutez --allow avec
} un réseau qui contient cette adresse
refused-above-ceiling = { $addr } est hors de { $variable } ({ $list }) ; aucune option ne peut lever ce plafond : modifiez l'environnement si cette destination est vraiment voulue
refused-resolver = le site « { $site } » est un nom d'hôte : le résoudre contacterait { $count ->
    [one] le serveur DNS
   *[other] les serveurs DNS
} { $servers }, hors de la liste des adresses autorisées ; { $fix ->
    [key] ajoutez à la clé `allow`
   *[flag] ajoutez --allow avec
} les réseaux { $count ->
    [one] du serveur DNS
   *[other] des serveurs DNS
} et de la passerelle, ou écrivez l'adresse IP de la passerelle à la place de son nom d'hôte
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

## Erreurs dans ce que la personne a tapé ou écrit (options, fichiers de cibles, environnement).

cidr-invalid = « { $text } » n'est pas un réseau : écrivez une adresse IP ou un réseau en notation CIDR, par exemple 127.0.0.0/8 ou ::1/128
ceiling-not-unicode = { $variable } est définie mais n'est pas en UTF-8 valide, donc le plafond qu'elle fixe est illisible : donnez-lui des réseaux séparés par des virgules (par exemple 127.0.0.0/8,10.0.0.0/8), ou supprimez-la
ceiling-invalid = { $variable } n'est pas une liste de réseaux : { $error }
secs-invalid = « { $value } » n'est pas un nombre de secondes (écrivez par exemple 5 ou 0.5, avec un point)
secs-range = { $value } s est hors limites : indiquez une valeur de 0.05 à 300 secondes
toml-read = impossible de lire { $what ->
    [daemon-config] la configuration du démon
   *[target-file] le fichier de cibles
} { $path } : { $error }
toml-anchors-unreadable = impossible de lire le fichier d'ancres { $anchors } : { $error } (les chemins sont relatifs au fichier de cibles ; lancez une fois `stca2-probe lab` pour générer les fichiers d'ancres du labo)

## Pourquoi un envoi n'a pas vidé la file d'attente (crates/daemon/src/why.rs) :
## le démon les journalise en anglais ; `check --upload` les dit dans la langue
## du lecteur. $detail, $error, $message et $body viennent d'une bibliothèque
## ou du back-office et restent tels quels.

upload-why-stopping = le démon s'arrête
upload-why-spool-unreadable = impossible de lire la file d'attente des rapports : { $error }
upload-why-spool-unremovable = impossible de retirer de la file d'attente les rapports envoyés : { $error }
upload-why-cannot-quarantine = impossible de mettre { $name } en quarantaine : { $error }
upload-why-untrusted = le certificat TLS du back-office n'est pas reconnu ({ $refused }), vérifié avec { $trust ->
    [file] {"["}upload] ca_file { $ca_file }
   *[system] le magasin de certificats du système (pas de {"["}upload] ca_file)
} : si le back-office utilise une AC privée, indiquez dans {"["}upload] ca_file le fichier PEM de cette AC ; sinon vérifiez le nom et les dates du certificat ; rien n'a été envoyé, les rapports restent dans la file d'attente
upload-why-transport = l'envoi { $what ->
    [timeout] n'a pas abouti dans le délai imparti
    [connect] n'a pas pu joindre le back-office
   *[failed] a échoué
} : { $detail }
upload-why-unacknowledged = le back-office a répondu { $status } sans accuser réception { $count ->
    [one] du rapport envoyé
   *[other] des { $count } rapports envoyés
} (portail captif ou proxy ?) : { $body } ; les rapports sont conservés
upload-why-clock-ahead = le back-office a répondu 422 ({ $code }) : { $message } ; l'horloge de cette machine semble en avance (vérifiez la synchronisation NTP) : les rapports sont conservés et seront renvoyés
upload-why-answered = le back-office a répondu { $status } ({ $code }) : { $message }
upload-why-token-unusable = { $kind ->
    [unreadable] impossible de lire le fichier du jeton { $path } ({ $error })
   *[malformed] le fichier du jeton { $path } est vide ou ne contient pas un jeton unique
} ; écrivez-y le jeton donné par `stca2-probe token issue`
upload-why-token-refused = le back-office a répondu { $status } ({ $code }) : { $message } ; les envois sont suspendus jusqu'à ce que le fichier du jeton { $path } change ou que le démon reçoive un SIGHUP ; la file d'attente est conservée
upload-why-still-refused = le back-office a refusé ce jeton ; en attente d'un nouveau jeton dans { $path } ou d'un SIGHUP
upload-untrusted-check = le certificat TLS du back-office n'est pas reconnu ({ $refused }) : si le back-office utilise une AC privée, donnez son PEM avec --upload-ca ; sinon vérifiez le nom et les dates du certificat
upload-why-spool-unwritable = impossible d'écrire le rapport dans la file d'attente : { $error }
upload-token-not-one = le fichier est vide ou contient autre chose qu'un jeton

## `daemon --check-config` : son résumé, après les réglages effectifs.

daemon-check-config-targets = jeu de cibles « { $name } » : { $sites } { $sites ->
    [one] site
   *[other] sites
} × { $ports } { $ports ->
    [one] port
   *[other] ports
}
daemon-check-config-warning = avertissement : { $warning }

## Les erreurs du labo sur lesquelles on peut agir (crates/lab).

lab-bind = impossible d'écouter sur { $addr } : { $kind ->
    [in-use] adresse déjà utilisée — un autre `stca2-probe lab` (ou `demo`) tourne-t-il ? Arrêtez-le, ou donnez d'autres adresses au labo
    [not-available] adresse non disponible — Linux traite tout 127.0.0.0/8 comme loopback ; sous macOS ou BSD, ajoutez-la d'abord avec `sudo ifconfig lo0 alias { $ip }`
    [permission] permission refusée — les ports sous 1024 demandent des privilèges ; utilisez des ports au-dessus de 1023
   *[other] le système a refusé la socket d'écoute
} ({ $error })
lab-write-pki = impossible d'écrire les certificats du labo dans { $dir } : { $error } — choisissez un dossier accessible en écriture pour les fichiers PEM du labo
lab-no-ctrl-c = impossible d'attendre Ctrl-C
demo-no-scratch = impossible de créer un dossier temporaire pour la démo

## Ce qui ne va pas dans un fichier de cibles ou dans la configuration du
## démon, à sa ligne et sa colonne (engine/src/targets.rs,
## daemon/src/config.rs). $error vient d'une bibliothèque (la crate toml,
## humantime, url) et reste tel quel.

toml-syntax = { $error }
target-no-site = aucun [[site]] : ajoutez au moins un site au fichier de cibles
target-no-port = aucun [[port]] : ajoutez au moins un port au fichier de cibles
target-name-empty = `name` est vide : donnez un nom au jeu de cibles
target-site-name-empty = le `name` du site est vide : donnez un nom au site
target-site-duplicate = site `{ $site }` en double : donnez à chaque site un nom différent
target-address-invalid = `{ $address }` n'est ni une adresse IP ni un nom d'hôte : écrivez par exemple 194.50.38.45 ou gateway.example.net
target-address-duplicate = adresse `{ $address }` en double : deux sites ne peuvent pas avoir la même adresse
target-port-invalid = le port { $port } n'est pas un port TCP : indiquez un numéro de 1 à 65535
target-port-duplicate = port { $port } en double : supprimez l'un des deux [[port]]
target-ca-unknown = `family = "unknown"` n'est pas une famille d'AC : écrivez "STCA2" ou "STCA" (unknown, AC « inconnue » dans le rapport, désigne une chaîne qui ne correspond à aucune des deux)
target-ca-duplicate = famille [[ca]] { $family } en double : mettez toutes les ancres { $family } dans un seul fichier PEM
target-anchors-invalid = { $path } : { $kind ->
    [none] aucun certificat trouvé : le fichier doit contenir des blocs PEM commençant par -----BEGIN CERTIFICATE-----
    [pem] PEM invalide : { $error }
   *[der] ce n'est pas un certificat X.509 : { $error }
}
config-probe-id = probe_id doit compter de 1 à 200 caractères imprimables, par exemple "shop-0042"
config-duration-invalid = { $key } = { $value } n'est pas une durée ({ $error }) ; écrivez par exemple "90s", "5m" ou "1h 30m"
config-interval-short = interval doit valoir au moins 1s
config-jitter-long = jitter ({ $jitter }) doit être plus court que interval ({ $interval })
config-timeout-range = timeout doit être compris entre 50ms et 300s
config-attempts-range = attempts doit être compris entre 1 et 100
config-tls-every-range = tls_every doit être compris entre 1 (un test complet à chaque cycle) et 10000, par exemple 12 pour un test complet toutes les heures avec interval = "5m"
config-source-invalid = source = { $value } n'est pas une adresse IP
config-interface-invalid = interface doit être un nom d'interface réseau comme "wwan0" (de 1 à 15 caractères)
config-spool-max-bytes = spool_max_bytes doit valoir au moins 65536 (64 Kio)
config-spool-max-age = spool_max_age doit valoir au moins la durée de interval
config-metrics-listen-invalid = metrics_listen = { $value } n'est pas une adresse avec un port comme "127.0.0.1:9146"
config-url-invalid = url = { $value } n'est pas une URL ({ $error }) ; écrivez par exemple "https://backoffice.example.net/"
config-url-scheme = url = { $value } doit être une URL en http:// ou https:// avec un nom d'hôte ou une adresse
config-url-clear = url = { $value } : en http://, le jeton et les rapports passeraient en clair ; utilisez https:// (http:// seulement vers une adresse de loopback)
config-url-credentials = url ne doit contenir ni identifiants ni paramètres de requête : le jeton va dans token_file
config-url-join = url : { $error }
config-batch-range = batch doit être compris entre 1 et { $max } (la limite du back-office)
config-upload-timeout-range = {"["}upload] timeout = { $value } doit être une durée de 100ms à 10m, par exemple "30s"
config-upload-host-named = {"["}upload] url { $url } contient un nom d'hôte alors que { $variable } est définie : indiquez l'adresse IP du back-office (comprise dans { $variable }) ou supprimez la variable ; rien n'a été envoyé
config-upload-outside = {"["}upload] url { $url } : { $ip } est hors de { $variable } ({ $list }) ; élargissez la variable ou faites pointer url vers une adresse qu'elle contient ; rien n'a été envoyé
# Un client pour le back-office impossible à construire ($error : pourquoi,
# tel que la bibliothèque TLS ou le système de fichiers l'a dit).
config-upload-client = {"["}upload] { $error }
config-error = { $error }
# Les sites refusés (refused-* ci-dessus avec $fix = key, séparés par « ; ») :
# leur conseil nomme la clé `allow` de la configuration.
config-refused-separator = {"\u00A0; "}
config-refused = { $sites } ; rien n'a été envoyé
