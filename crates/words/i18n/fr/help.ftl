# L'aide de la ligne de commande (`stca2-probe --lang fr … --help`) : la
# traduction des textes anglais écrits dans le code (commentaires de doc de
# clap, attributs `about`, `long_about`, `after_help`). src/help.rs remplace
# l'anglais par ces messages et ses tests vérifient que chaque commande et
# chaque argument visible a le sien, et qu'aucun message ne décrit rien.
#
# - help-cmd-<chemin> : le `about` d'une commande ; .long : son texte long ;
#   .after : ses exemples et codes de sortie. <chemin> : `root`, ou les noms
#   des sous-commandes joints par « - » (token-issue).
# - help-arg-<chemin>-<argument> : l'aide d'un argument (nom du champ Rust,
#   « _ » devenu « - ») ; les arguments globaux sont sous `root`.
#
# Infinitif pour ce que fait une option (« Écrire le rapport… »), pas de point
# final (clap l'enlève aussi en anglais). Tout ce qui se tape reste tel quel :
# options, commandes des exemples, chemins, variables d'environnement, et les
# noms de valeur que clap affiche (FILE, SECS, N, CIDR, URL, PEM...).
# Espace insécable U+00A0 avant « : ; ! ? » et à l'intérieur des guillemets
# « ».

## Les mots de clap.

help-usage = Utilisation :
help-commands = Commandes
help-options = Options
help-flag-help = Afficher l'aide
help-flag-help-more = Afficher l'aide (plus de détails avec --help)
help-flag-help-long = Afficher l'aide (un résumé avec -h)
help-flag-version = Afficher la version
help-subcommand-help = Afficher ce message, ou l'aide de la ou des sous-commandes indiquées
# Ce que clap écrit entre crochets après l'aide d'un argument.
help-default = par défaut : { $value }
help-possible = valeurs possibles : { $values }
help-env = variable d'environnement : { $name }

## stca2-probe (src/main.rs).

# Ajouté au texte long de la racine dans les versions qui ont la démo.
help-root-demo = Commencez par `stca2-probe demo` pour voir un test complet contre une passerelle simulée.

help-cmd-root = Ce réseau peut-il joindre l'entrée STCA2 de la passerelle de paiement ?
    .long =
        Ce réseau peut-il joindre l'entrée STCA2 de la passerelle de paiement ?

        Les terminaux de paiement doivent passer à l'entrée STCA2 de la passerelle : TLS sur le port 1146 (et 7212 pour la déclaration du terminal), au site 1 Toulouse (principal) et au site 2 Bordeaux (secours), avec un certificat de la nouvelle autorité STCA2. stca2-probe teste chaque site et chaque port depuis le réseau même du commerçant, et dit en termes simples ce que la box du commerçant ou le FAI doit changer.
    .after = Codes de sortie : 0 prêt pour STCA2 ; 1 le test a trouvé un problème ; 2 arguments erronés, fichier de cibles invalide ou test impossible à lancer ; 3 (check --upload, daemon --once) le rapport n'a pas pu être envoyé.
help-arg-root-log-format = Format des lignes de journal sur stderr (serve, daemon) : texte lisible, ou un objet JSON par ligne pour les collecteurs de journaux
help-arg-root-lang = La langue de ce que lisent les personnes (rapports, verdicts, colonne message du CSV, erreurs sur lesquelles agir) : fr ou en. Par défaut : celle de la locale (LC_ALL, LC_MESSAGES, LANG ; fr_FR.UTF-8 donne le français), sinon l'anglais. Le rapport JSON reste en anglais. Vaut aussi pour --help

## check (crates/engine/src/cli.rs).

help-cmd-check = Tester chaque site × port d'un jeu de cibles, tous en parallèle, et rendre un verdict
    .after =
        Exemples :
          stca2-probe check                               la vraie passerelle, depuis le commerçant
          stca2-probe check --interface wwan0             la même chose par le lien 4G, pas la box
          stca2-probe check --json --out report.json      le rapport JSON v1 (back-office, ticket)
          stca2-probe check --csv > isp-ticket.csv        des lignes à joindre à un ticket FAI
          stca2-probe check --trace                       dire aussi où s'arrête le chemin
          stca2-probe check --targets targets/lab-ca/lab.toml   contre `stca2-probe lab`

        Codes de sortie : 0 chaque site × port a répondu en TLS avec une chaîne STCA2 ; 1 le test a trouvé un problème (les premières lignes disent quoi ouvrir ou corriger) ; 2 arguments erronés, fichier de cibles invalide, destination refusée par la liste des adresses autorisées, ou test impossible à lancer ; 3 (avec --upload) le rapport n'a pas pu être envoyé au back-office (il est affiché, et conservé dans un fichier).
help-arg-check-targets = Le jeu de cibles à tester. Par défaut : le jeu Lyra intégré (targets/lyra.toml, compilé dans le programme), dont les ancres d'AC sont lues dans $STCA2_PROBE_CA_DIR, sinon /etc/stca2-probe/ca, sinon targets/ca dans l'arborescence des sources
help-arg-check-trace = Tracer chaque site × port qui ne s'ouvre pas (un traceroute TCP sur son port, voir `stca2-probe trace`) : le rapport dit alors où s'arrête le chemin — à la box du commerçant, chez le FAI ou plus loin, ou à la passerelle elle-même. Ajoute environ une seconde
# La sonde (ProbeArgs).
help-arg-check-timeout = Durée maximale de chaque étape, en secondes (DNS, chaque connexion TCP, chaque négociation TLS)
help-arg-check-attempts = Nombre d'essais espacés par site × port (centiles de latence et instabilité)
help-arg-check-allow = Un réseau que la sonde peut contacter (option répétable). Remplace la liste par défaut, qui se limite aux adresses du jeu de cibles. Le serveur DNS est lui aussi une destination : un site écrit sous forme de nom d'hôte demande aussi ici le réseau du serveur DNS. STCA2_PROBE_ALLOW, si elle est définie, plafonne cette liste (définie mais vide : rien n'est autorisé)
help-arg-check-source = Adresse locale d'où partent les connexions (par exemple le côté du routeur 4G plutôt que la box ADSL)
help-arg-check-interface = Interface réseau par laquelle passer (SO_BINDTODEVICE ; demande les droits root ou CAP_NET_RAW)
help-arg-check-client-cert = Le certificat client d'un terminal (PEM), pour aller au bout des tests en TLS mutuel
help-arg-check-client-key = La clé privée (PEM) qui va avec --client-cert
help-arg-check-probe-id = L'identifiant de la sonde écrit dans le rapport (par défaut : le nom d'hôte de cette machine)
help-arg-check-merchant = L'identifiant du commerçant écrit dans le rapport
# La sortie (OutputArgs, aussi dans demo).
help-arg-check-json = Afficher le rapport JSON v1 (reports/report.schema.json)
help-arg-check-csv = Afficher les lignes CSV d'un ticket FAI (reports/csv-columns.md)
help-arg-check-with-pem = Avec --json : inclure chaque certificat en PEM
help-arg-check-out = Écrire la sortie dans FILE (de façon atomique) au lieu de la sortie standard
help-arg-check-color = Couleurs dans le rapport texte (auto : seulement vers un terminal, et si NO_COLOR n'est pas définie)
# L'installateur devant la box (InstallerArgs).
help-arg-check-explain = Afficher comment lire le rapport (ce que veut dire chaque état, quoi faire), puis quitter
help-arg-check-watch = Refaire le test à quelques secondes d'intervalle pendant que l'on modifie les règles de la box ; n'afficher que ce qui a changé, puis émettre un bip et quitter avec le code 0 dès que tout est prêt
help-arg-check-watch-timeout = Avec --watch : abandonner (code de sortie 1) au bout de cette durée
help-arg-check-watch-every = Avec --watch : la pause entre deux tests
# L'envoi au back-office (UploadArgs).
help-arg-check-upload = Après le test, envoyer le rapport au back-office à l'adresse URL (https://, vérifiée avec les AC du système ou --upload-ca ; http:// seulement en local, vers loopback) avec le jeton de la sonde, et afficher le numéro de rapport à donner par téléphone. Code de sortie 3 si l'envoi échoue (le rapport est quand même affiché, et conservé dans un fichier)
help-arg-check-upload-token = Avec --upload : le fichier qui contient le jeton de la sonde (jamais affiché)
help-arg-check-upload-ca = Avec --upload : l'AC du back-office (PEM), si elle n'est pas dans le magasin de certificats du système

## trace (crates/engine/src/trace.rs).

help-cmd-trace = Où s'arrête le chemin vers ADDRESS:PORT ? Un traceroute TCP sur le vrai port
    .after =
        Exemples :
          stca2-probe trace 194.50.38.45:1146               le chemin vers le port STCA2 du site 1
          stca2-probe trace 194.50.38.45:1146 --interface wwan0   la même chose par le lien 4G
          stca2-probe check --trace                         un test complet, tracé des ports fermés

        Chaque saut est le routeur dont le message ICMP « time exceeded » a répondu à un SYN envoyé avec ce TTL, sur le vrai port (pas de socket brute, pas besoin d'être root sans --interface). La dernière ligne dit où s'arrête le chemin : à la box du commerçant (saut 1, la passerelle par défaut), chez le FAI ou plus loin, ou à la passerelle de paiement elle-même (un reset TCP envoyé par la destination).

        Codes de sortie : 0 le port a répondu (ouvert) au bout du chemin ; 1 le chemin s'arrête avant, ou le port refuse ; 2 arguments erronés, ou destination refusée par la liste des adresses autorisées.
help-arg-trace-target = La destination, une adresse IP et un port : `194.50.38.45:1146`, `[2001:db8::1]:1146`
help-arg-trace-allow = Un réseau que le traceroute peut contacter (option répétable). Par défaut : la destination seule. STCA2_PROBE_ALLOW, si elle est définie, plafonne cette liste (définie mais vide : rien n'est autorisé)
help-arg-trace-source = Adresse locale d'où partent les paquets (par exemple le côté du routeur 4G plutôt que la box ADSL)
help-arg-trace-interface = Interface réseau par laquelle envoyer (SO_BINDTODEVICE ; demande les droits root ou CAP_NET_RAW)
help-arg-trace-max-hops = Le TTL le plus élevé essayé
help-arg-trace-probes = Nombre de SYN envoyés par TTL
help-arg-trace-wait = Temps d'attente d'une réponse à chaque SYN, en secondes
help-arg-trace-json = Afficher la trace en JSON (l'objet `trace` de l'extension du rapport v1)

## daemon (crates/daemon/src/cli.rs).

help-cmd-daemon = Lancer des tests à intervalles réguliers, garder les rapports en file d'attente (spool) et les envoyer au back-office
    .after =
        Exemples :
          stca2-probe daemon --config /etc/stca2-probe/daemon.toml                 marche normale (systemd)
          stca2-probe daemon --config /etc/stca2-probe/daemon.toml --check-config  valider, afficher
          stca2-probe daemon --config /etc/stca2-probe/daemon.toml --once          un test, un envoi

        Signaux : SIGTERM ou SIGINT arrêtent le démon en moins de 10 s (le test en cours dispose de 7 s au plus) ; SIGHUP recharge le fichier de configuration.
        Codes de sortie : 0 terminé (avec --once : le test a trouvé que tout était prêt) ; 1 (--once) le test a trouvé un problème ; 2 configuration invalide, cible refusée par la liste des adresses autorisées ou démon impossible à lancer ; 3 (--once) l'envoi a échoué ou a été refusé (les rapports restent en file d'attente pour la prochaine exécution).
help-arg-daemon-config = La configuration du démon (TOML ; voir packaging/daemon.toml)
help-arg-daemon-check-config = Valider la configuration, afficher les réglages effectifs et quitter (0 valide, 2 invalide)
help-arg-daemon-once = Faire un seul cycle et une seule tentative d'envoi, puis quitter

## lab et demo (crates/lab/src/cli.rs).

help-cmd-lab = Faire tourner des passerelles simulées en local, sur loopback (127.0.38.45, 127.0.38.173), jusqu'à Ctrl-C
help-arg-lab-scenario = Ce que font les passerelles simulées : un scénario, ou un comportement pour tous les sites et ports (voir --list)
help-arg-lab-list = Lister les scénarios et les comportements, puis quitter
help-arg-lab-ca-dir = Où écrire les certificats d'AC générés par le labo, et le fichier de cibles correspondant (lab.toml) pour le tester
help-cmd-demo = Démarrer le labo dans ce processus, le tester et afficher le rapport : le produit en quelques secondes
help-arg-demo-scenario = Le scénario du labo à tester (ou un comportement pour tous les sites et ports)
help-arg-demo-json = { help-arg-check-json }
help-arg-demo-csv = { help-arg-check-csv }
help-arg-demo-with-pem = { help-arg-check-with-pem }
help-arg-demo-out = { help-arg-check-out }
help-arg-demo-color = { help-arg-check-color }

## Le back-office (crates/backoffice/src/cli.rs).

help-cmd-serve = Faire tourner l'API HTTP du back-office (réception des rapports, filtres, exports)
help-arg-serve-listen = Adresse et port d'écoute
help-arg-serve-database = URL de la base de données : sqlite://FILE (fichier créé à la première utilisation) ou postgres://USER@HOST/DB
help-arg-serve-tls-cert = Chaîne de certificats PEM : servir directement en HTTPS (avec --tls-key)
help-arg-serve-tls-key = Clé privée PEM pour --tls-cert
help-arg-serve-trusted-proxy = Un réseau de proxys de confiance, dont l'en-tête X-Forwarded-For est pris en compte (option répétable), par exemple 127.0.0.1/32
help-arg-serve-retention-days = Conserver l'historique des rapports pendant ce nombre de jours (0 : sans limite) ; le dernier rapport de chaque sonde est toujours conservé
help-cmd-token = Émettre, révoquer ou lister les jetons d'API
help-cmd-token-issue = Créer un jeton et l'afficher une seule fois (seule son empreinte est enregistrée)
help-arg-token-issue-database = { help-arg-serve-database }
help-arg-token-issue-probe = La sonde pour laquelle ce jeton peut envoyer des rapports
help-arg-token-issue-merchant = Le commerçant auquel appartient la sonde
help-arg-token-issue-admin = Un jeton d'opérateur (administration) : lecture des filtres, des recommandations et des exports
help-cmd-token-revoke = Révoquer un jeton (donner le jeton lui-même ou le début de son identifiant) ou tous les jetons d'une sonde
help-arg-token-revoke-database = { help-arg-serve-database }
help-arg-token-revoke-token = Le jeton (stca2_...) ou le début de son identifiant tel que l'affiche `token list` (8 chiffres hexadécimaux ou plus)
help-arg-token-revoke-probe = Révoquer tous les jetons de cette sonde
help-cmd-token-list = Lister les jetons (les identifiants sont des débuts d'empreinte ; les jetons eux-mêmes ne sont jamais enregistrés)
help-arg-token-list-database = { help-arg-serve-database }
help-cmd-export = Écrire le CSV des tickets FAI à partir de la base de données, sur la sortie standard (ou dans --output)
help-arg-export-database = { help-arg-serve-database }
help-arg-export-filter = `stca2-port-closed` : les sondes dont le port STCA2 est fermé, chacune par le rapport qui a ouvert son état actuel ; `all` : tout l'historique
help-arg-export-merchant = Seulement ce commerçant
help-arg-export-since = Seulement les rapports commencés à cet instant RFC 3339 ou après
help-arg-export-until = Seulement les rapports commencés avant cet instant RFC 3339
help-arg-export-output = Écrire dans ce fichier plutôt que sur la sortie standard
