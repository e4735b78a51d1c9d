# Les phrases du verdict : le titre, la recommandation de connectivité
# secondaire et chaque constat, rendus à partir des faits typés du rapport
# (stca2_words::Words). Les messages anglais sont les champs `message` du
# rapport JSON ; ceux-ci ne changent que ce que lisent les personnes.
#
# Typographie : espace insécable U+00A0 avant « : ; ! ? » et à l'intérieur
# des guillemets « », partout (pas d'espace fine U+202F : trop de polices de
# terminal ne l'ont pas).
#
# Les variables de liste ($targets, $sites...) arrivent déjà jointes par
# list-comma / list-and ; $count est le nombre d'éléments, pour les pluriels.

## Listes : « a », « a et b », « a, b et c ».

list-comma = { $head }, { $item }
list-and = { $head } et { $item }

## Mots partagés.

-dns-advice = Vérifiez les serveurs DNS utilisés chez le commerçant (sur la box ou sur cette machine), ou utilisez l'adresse IP de la passerelle.
-dns-advice-lower = vérifiez les serveurs DNS utilisés chez le commerçant (sur la box ou sur cette machine), ou utilisez l'adresse IP de la passerelle.
-exempt = Demandez au commerçant ou à son FAI d'exclure les adresses de la passerelle de l'inspection TLS (inspection SSL).
-nothing-known = cela ne dit rien de la box du commerçant

site-label = le site { $number } ({ $name })
site-comma = site { $number }, { $name }
every-site = { $count ->
    [2] les deux sites
   *[other] les { $count } sites
}
# Un point d'accès dans une phrase : « le port TCP 1146 vers 194.50.38.45 ».
endpoint = le port TCP { $port } vers { $host }
target-at = { $host }:{ $port } (site { $number }, { $site }, { $service ->
    [stca2] port STCA2
    [declaration] port déclaration du terminal
   *[other] autre port
})
issuer-forged = { $issuer }, une chaîne { $family } contrefaite dont les signatures sont invalides
unknown-issuer = un émetteur inconnu
detail-aside = {" "}({ $detail })
tls-class = { $class ->
    [none] aucun résultat TLS
    [alert] alerte TLS
    [reset] connexion coupée par un RST
    [eof] connexion fermée
    [timeout] sans réponse
    [error] erreur
    [client_auth_required] certificat client demandé
   *[other] { $class }
}
dns-status = { $status ->
    [nxdomain] nom inconnu, NXDOMAIN
    [timeout] pas de réponse du serveur DNS
    [refused] requête refusée par le serveur DNS
    [error] erreur
   *[other] { $status }
}

## Le titre.

headline-nothing-checked = Rien n'a été vérifié : le jeu de cibles n'a aucun site ou aucun port.
headline-ready = Prêt pour STCA2 : { $sites } { $count ->
    [one] répond
   *[other] répondent
} sur { $portcount ->
    [one] le port
   *[other] les ports
} { $ports } avec un certificat STCA2.
headline-ready-expiring = { headline-ready } Le certificat présenté sur { $endpoint } expire dans { $days ->
    [one] { $days } jour
   *[other] { $days } jours
} : prévenez l'exploitant de la passerelle.
headline-primary-unresolved = Port STCA2 non ouvert : le nom { $address } (site { $number }, { $site }) ne se résout pas. { -dns-advice }
headline-primary-closed = Port STCA2 non ouvert : { $router ->
    [yes] la box bloque { $closed } ({ $label })
   *[no] impossible de joindre { $closed } ({ $label })
}. Ouvrez en sortie { $open } sur la box du commerçant.
headline-interception = Interception TLS suspectée : un équipement du réseau du commerçant répond à la place de la passerelle sur { $endpoints }, avec un certificat émis par { $issuers }. { -exempt }
headline-unresolved = Pas prêt : impossible de résoudre { $addresses }. { -dns-advice }
headline-blocked = Pas prêt : la box bloque { $blocked }. { $count ->
    [one] Ouvrez-le
   *[other] Ouvrez-les
} en sortie sur la box du commerçant.
headline-blocked-tls-failing = { headline-blocked } Sur { $failing }, la connexion TCP s'établit mais la négociation TLS n'aboutit pas (voir les constats).
headline-not-measured = Non mesuré : { $targets } { $count ->
    [one] n'a pas pu être testé
   *[other] n'ont pas pu être testés
} depuis cette sonde, donc on ne sait encore rien de la box du commerçant pour { $count ->
    [one] ce port
   *[other] ces ports
}. Corrigez la configuration de la sonde comme l'indiquent les constats, puis relancez le test.
headline-old-ca = Pas prêt pour STCA2 : { $targets } { $count ->
    [one] présente
   *[other] présentent
} encore l'ancienne chaîne STCA.
headline-tls-failing = Pas prêt : la connexion TCP s'établit mais la négociation TLS n'aboutit pas sur { $targets } (voir les constats).
# Cycle TCP seul du démon (tls_every, liens facturés au volume) : tous les ports s'ouvrent, TLS non regardé.
headline-tls-not-checked = La connexion TCP s'établit sur tous les ports. La négociation TLS n'a pas été vérifiée sur { $targets } à ce cycle (un test TCP seul, sur un lien facturé au volume) : le dernier test complet dit si les passerelles présentent STCA2.
headline-expired = Pas prêt : { $count ->
    [one] le certificat présenté sur { $targets } a expiré
   *[other] les certificats présentés sur { $targets } ont expiré
} ; prévenez l'exploitant de la passerelle.
headline-anchors-missing = Tous les sites répondent en TLS, mais l'autorité de certification ne peut pas être identifiée : les fichiers d'ancres STCA2 et STCA du jeu de cibles sont absents. Ajoutez-les et relancez le test.
headline-not-stca2 = Pas prêt pour STCA2 : { $targets } ne { $count ->
    [one] répond
   *[other] répondent
} pas avec un certificat STCA2 (voir les constats).

## La connectivité secondaire (passerelle de secours).

failover-configure-site = le site { $number } ({ $name }, { $address }, { $count ->
    [one] port
   *[other] ports
} { $ports })
failover-configure = configurez { $sites } comme passerelle de secours du terminal
failover-why-intercepted = un équipement du réseau du commerçant intercepte la connexion TLS sur { $endpoints } (certificat émis par { $issuers })
failover-why-failing = la négociation TLS n'aboutit pas sur { $targets }
failover-failing-target = { $endpoint } ({ $class })
failover-why-both = { $intercepted } ; { $failing }
failover-no-secondary = Le jeu de cibles n'a pas de site secondaire : pas de passerelle de secours à configurer.
failover-no-primary = Le jeu de cibles n'a pas de site principal : impossible d'évaluer la connectivité secondaire.
failover-unmeasured = Connectivité secondaire impossible à évaluer pour l'instant : { $sites } { $count ->
    [one] n'a pas été mesuré
   *[other] n'ont pas été mesurés
} (voir les constats not_measured). Corrigez cela côté sonde et relancez le test.
failover-tls-not-checked = La connectivité secondaire s'évalue sur les tests complets : la négociation TLS n'a pas été vérifiée sur { $sites } pendant ce cycle TCP seul, la recommandation du dernier test complet reste donc valable.
failover-all-answer = { $count ->
    [2] Les deux sites répondent
   *[other] Les { $count } sites répondent
} : { $configure }.
failover-primary-broken = { $secondaries } répond, mais sur { $primaries }, { $why } : { $configure }, et corrigez { $primaries } comme l'indiquent les constats.
failover-secondary-blocked = { $primaries } répond, mais la box du commerçant bloque { $secondaries } : ouvrez en sortie { $closed } sur la box, puis { $configure }.
failover-primary-blocked = La box du commerçant bloque { $primaries } : ouvrez en sortie { $closed } sur la box. En attendant, { $secondaries } répond : { $configure }.
failover-primary-blocked-secondary-broken = La box du commerçant bloque { $primaries } : ouvrez en sortie { $closed } sur la box. { $secondaries } ne peut pas encore servir de secours : { $why }.
failover-all-blocked = La box du commerçant bloque { $sites } : ouvrez en sortie { $closed } sur la box, puis { $configure }.
failover-secondary-broken = { $primaries } répond. Ne configurez pas encore { $secondaries } comme passerelle de secours : { $why }. Ouvrir des ports n'y changera rien ; réglez d'abord ce problème.
failover-primary-broken-secondary-blocked = La connectivité secondaire ne résout rien pour l'instant : sur { $primaries }, { $why }, et ce n'est pas un port bloqué. Réglez d'abord ce problème ; la box bloque aussi { $secondaries }, sur { $closed }.
failover-all-broken = La connectivité secondaire ne résout rien : { $sites } acceptent la connexion TCP mais { $why }. Ce n'est pas un port bloqué ; voir les constats.
failover-all-broken-interception = La connectivité secondaire ne résout rien : { $sites } acceptent la connexion TCP mais { $why }. Faites lever l'interception (exclure { $addresses } de l'inspection TLS) au lieu d'ouvrir des ports ou de configurer le site 2.

## Les constats, un message (ou quelques-uns) par code.

finding-not-measured = { $at } n'a pas été mesuré : { $why }
finding-not-measured-dns-refused-nothing = refusé par la liste des adresses autorisées : { $detail }. Rien n'a été envoyé ; { -nothing-known }.
finding-not-measured-dns-refused = refusé par la liste des adresses autorisées : le nom { $address } se résout en { $ips }, hors de la liste, donc rien ne lui a été envoyé ({ $detail }). Si cette adresse est la bonne, ajoutez --allow avec le réseau de la passerelle ; { -nothing-known }.
finding-not-measured-allow-list = la sonde a refusé de le contacter ({ $detail }). Corrigez la liste des adresses autorisées côté sonde (--allow, la clé `allow` du fichier de cibles, ou { $ceiling }) ; { -nothing-known }.
finding-not-measured-local = la connexion n'a pas pu partir de cette machine ({ $detail }). Corrigez la configuration de la sonde (--source, --interface, ou la configuration réseau de cette machine) et relancez le test ; { -nothing-known }.
finding-dns-failed = { $address } ne se résout pas ({ dns-status }) : { -dns-advice-lower }
finding-dns-failed-detail = { $address } ne se résout pas ({ dns-status } : { $detail }) : { -dns-advice-lower }
finding-port-closed = La connexion TCP vers { $at } n'aboutit pas : { $why }. Ouvrez en sortie { $endpoint } sur la box du commerçant.
finding-port-closed-timeout = aucune réponse à la demande de connexion, qu'un routeur ou un pare-feu sur le chemin jette silencieusement — le plus souvent la box du commerçant, qui bloque le port
finding-port-closed-refused = la connexion a été refusée par un reset TCP (RST), envoyé par un routeur ou un pare-feu qui la rejette, ou parce que rien n'écoute à cette adresse sur ce port
finding-port-closed-unreachable = un routeur sur le chemin a renvoyé un message ICMP « destination injoignable »{ $aside }, parce qu'il refuse la destination (interdiction administrative) ou n'a pas de route vers elle
finding-port-closed-error = la connexion n'a pas pu être établie{ $aside }
finding-tls-failed = { $at } : { $why }.
finding-tls-failed-no-result = La connexion TCP vers { $at } s'établit, mais aucun résultat TLS n'a été enregistré.
finding-tls-failed-client-auth = le serveur a demandé un certificat client{ $aside }, ce que la passerelle ne fait que sur le port déclaration du terminal
finding-tls-failed-alert = le serveur ou un équipement intermédiaire a envoyé l'alerte TLS { $alert }{ $aside }
finding-tls-failed-unnamed-alert = (sans nom)
finding-tls-failed-reset = la connexion a été coupée (RST) pendant la négociation TLS ; une coupure juste après le ClientHello signale souvent un équipement de filtrage sur le réseau du commerçant
finding-tls-failed-eof = la connexion a été fermée pendant la négociation TLS : quelque chose accepte la connexion TCP mais ne parle pas TLS à la sonde (un proxy ou un filtre)
finding-tls-failed-timeout = la connexion TCP s'établit mais la négociation TLS n'obtient aucune réponse dans le délai imparti : un équipement intermédiaire muet, un service arrêté, ou un trou noir de MTU (un lien à MTU réduite, PPPoE ou VPN par exemple, dont les messages ICMP « fragmentation nécessaire » sont bloqués, si bien que le certificat du serveur n'arrive jamais ; essayez de baisser la MTU de la box ou d'activer le MSS clamping)
# Jamais un constat (un test TCP seul n'en produit pas) ; dit simplement si on le demande.
finding-tls-failed-not-attempted = aucune négociation TLS n'a été tentée pendant ce test TCP seul{ $aside }
finding-tls-failed-error = la négociation TLS a échoué{ $aside }
finding-client-auth = { $at } a demandé un certificat client, comme le fait la vraie passerelle sur le port déclaration du terminal ; c'est normal, le terminal présente le sien.{ $accepted }
finding-client-auth-cas = {" "}AC acceptées : { $cas }.
finding-old-ca = { $at } présente encore l'ancienne chaîne STCA (émise par { $issuer }) : la passerelle, ou un proxy devant elle, n'est pas encore passée en STCA2. Les terminaux migrés en STCA2 la refuseront.
finding-old-ca-issuer = l'ancienne autorité STCA
finding-interception = { $at } : interception TLS suspectée par un équipement du réseau du commerçant ; le certificat a été émis par { $issuer }. { -exempt }
finding-interception-forged = { $at } : la chaîne se présente comme { $family } mais ses signatures sont invalides — chaîne contrefaite, interception suspectée par un équipement du réseau du commerçant. { -exempt }
finding-leaf = le certificat du serveur
finding-expired = { $at } présente un certificat expiré ({ $subject }, expiré depuis { $days ->
    [one] { $days } jour
   *[other] { $days } jours
}) : les terminaux le refuseront ; prévenez l'exploitant de la passerelle.
finding-expiring = La chaîne STCA2 sur { $at } expire dans { $days ->
    [one] { $days } jour
   *[other] { $days } jours
} ({ $subject }) : prévenez l'exploitant de la passerelle avant l'échéance.
finding-anchors-missing = Les fichiers d'ancres STCA2 et STCA du jeu de cibles sont absents : impossible d'identifier l'autorité de certification d'un certificat (ce n'est pas un signe d'interception). L'accès aux ports est quand même vérifié ; ajoutez les fichiers d'ancres et relancez le test.

## Où s'arrête le chemin, et trous noirs de MTU (ticket 10 : constats
## `path_stop` et `path_mtu`, `check --trace`, `stca2-probe trace`).

# Le saut que nomme un traceroute TCP : « saut 2 (10.1.2.2) ».
path-hop = saut { $hop } ({ $address })
path-hop-ttl = saut { $hop }
path-hop-address = { $address }
path-hop-unnamed = saut non identifié
# Comment le chemin s'arrête à ce saut.
path-how-unreachable = la connexion y est refusée par un message ICMP
path-how-reset = la connexion y est rejetée par un RST TCP envoyé au nom de la passerelle
path-how-silent = rien n'est transmis au-delà (les paquets y sont jetés sans réponse)
finding-path-stop-box = Le chemin vers { $what } s'arrête à la box du commerçant, { $hop }, premier routeur après le magasin : { $how }. Ouvrez en sortie { $endpoint } sur la box ; le FAI n'est pas en cause.
finding-path-stop-beyond-box = Le chemin vers { $what } traverse la box du commerçant et s'arrête après elle, chez le FAI ou plus loin, au { $hop } : { $how }. Ce n'est pas la box qui bloque : ouvrez un ticket chez le FAI pour { $endpoint } en sortie, en indiquant le dernier saut qui a répondu, { $hop }.
finding-path-stop-destination = Le chemin vers { $what } arrive jusqu'à la passerelle ({ $hop }), et c'est la passerelle elle-même qui refuse le port par un RST TCP : ni la box ni le FAI ne bloquent. Appelez l'exploitant de la passerelle.
finding-path-stop-unknown = Aucun saut n'a répondu sur le chemin vers { $what }, pas même la box du commerçant : elle jette peut-être aussi les paquets expirés de la sonde. Vérifiez d'abord le pare-feu de la box pour { $endpoint } en sortie.
finding-path-mtu = La connexion TCP vers { $at } s'établit mais la négociation TLS reste bloquée avec des paquets pleine taille, et aboutit avec un MSS TCP de { $mss } : trou noir de MTU (les gros paquets sont jetés et le message ICMP « fragmentation nécessaire » qui devrait le signaler n'arrive jamais). Sur la box du commerçant, activez le MSS clamping (à { $mss } ou à la MTU du chemin), ou baissez la MTU côté WAN, ou laissez passer l'ICMP « fragmentation nécessaire ».
finding-path-mtu-silent = La connexion TCP vers { $at } s'établit mais la négociation TLS reste bloquée, et un MSS TCP plus petit n'y change rien : ce n'est pas un problème de MTU ; le service (ou un équipement intermédiaire) accepte la connexion et ne répond jamais. Appelez l'exploitant de la passerelle avec ce rapport.
# `stca2-probe trace`.
trace-header = Traceroute TCP vers { $target }, { $probes } SYN par saut
trace-default-gateway = { $address } (passerelle par défaut)
trace-open = Le chemin vers { $endpoint } est ouvert de bout en bout : le port a répondu au saut { $ttl }.
trace-refusing = refus de { $target } : { $why }
trace-nothing-sent = rien n'a été envoyé à { $target }
trace-cannot-run = le traceroute n'a pas pu partir de cette machine : { $error }
