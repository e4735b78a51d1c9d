# La console du back office (crates/backoffice/src/console/) : les pages
# où les opérateurs travaillent, avec les mots de LUMA. Les mêmes messages
# et variables que en/console.ftl (testé).

## Navigation
nav-dashboard = Tableau de bord
nav-blocked = Port STCA2 non ouvert
nav-secondary = Connectivité secondaire
nav-exports = Exports
nav-tokens = Jetons
nav-sign-out = Se déconnecter

## Connexion
signin-title = Connexion
signin-token = Jeton d'administration
signin-hint = Collez un jeton émis par « stca2-probe token issue --admin ». Un jeton de sonde ne permet pas de se connecter.
signin-submit = Se connecter
signin-unknown = Jeton inconnu ou révoqué : vérifiez-le, ou faites-en émettre un nouveau.
signin-probe-token = Ce jeton est un jeton de sonde : il sert seulement à envoyer des rapports. Connectez-vous avec un jeton d'administration.

## Tableau de bord
dashboard-title = Tableau de bord
dashboard-reporting = Sondes qui remontent des rapports
dashboard-closed = Vérification – Port STCA2 non ouvert
dashboard-secondary = Prêtes pour la connectivité secondaire
dashboard-interception = Interceptions TLS suspectées
dashboard-old-ca = Anciennes chaînes STCA
dashboard-expiring = Chaînes qui expirent bientôt
dashboard-silent = Sondes silencieuses
dashboard-silent-note = Une sonde est silencieuse quand elle n'a envoyé aucun rapport depuis { $n } minutes (trois intervalles) : le boîtier est peut-être éteint ou débranché.

## Listes
blocked-title = Vérification – Port STCA2 non ouvert
secondary-title = Connectivité secondaire
secondary-ready = Site 2 joignable : à configurer en secours
secondary-open-first = Port à ouvrir d'abord
list-all = Toutes les sondes
list-interception = Interceptions TLS suspectées
list-old-ca = Anciennes chaînes STCA
list-expiring = Chaînes qui expirent bientôt
list-silent = Sondes silencieuses
list-empty = Aucune sonde ne correspond.
list-next = Page suivante
list-export = Exporter cette liste (CSV FAI, campagnes)
filter-merchant = Commerçant
filter-since = Dernier rapport depuis
filter-recommendation = Recommandation
filter-any = Toutes
filter-sort = Tri
filter-sort-default = Par défaut
filter-sort-since = Depuis (le plus ancien d'abord)
filter-sort-probe = Sonde
filter-apply = Filtrer
col-merchant = Commerçant
col-probe = Sonde
col-ip = IP publique
col-since = Depuis
col-streak = Rapports consécutifs
col-last = Dernier rapport
col-recommendation = Recommandation
col-what = Ce qui bloque
col-site = Site
col-role = Rôle
col-endpoint = Adresse
col-service = Service
col-family = Famille d'AC
col-expiry = Expiration
col-latency = Connexion / négociation TLS (médianes)

## Recommandations
recommendation-configure-secondary = Configurer le site 2 en secours
recommendation-open-secondary = Ouvrir l'accès au site 2, puis le configurer
recommendation-open-primary = Ouvrir l'accès au site principal
recommendation-open-both = Ouvrir l'accès aux deux sites
recommendation-none = Rien à faire

## Page d'une sonde
probe-title = Sonde
probe-port = Port STCA2
probe-port-closed = Port STCA2 non ouvert
probe-port-open = ouvert
probe-streak = { $n ->
    [one] { $n } rapport
   *[other] { $n } rapports
}
probe-state = État inchangé depuis
probe-state-report = Rapport du { $value }, qui a ouvert cet état : les rapports suivants ont dit la même chose (ports, chaînes, recommandation, constats). Heures, latences et constats chiffrés sont ceux de ce rapport ; les jours avant expiration sont comptés d'aujourd'hui.
probe-verdict = Dernier verdict
probe-targets = Sites et ports
probe-chains = Chaînes de certificats
probe-issuer = émis par
probe-not-after = valable jusqu'au
probe-days = { $n ->
    [one] { $n } jour
   *[other] { $n } jours
}
probe-history = Historique récent
probe-chart = Latence de connexion et de négociation TLS sur { $n ->
    [one] { $n } rapport
   *[other] { $n } rapports
}
probe-connect = connexion
probe-handshake = négociation TLS
probe-raw = Rapport JSON brut
role-primary = principal
role-secondary = secours

## Exports
exports-title = Exports
exports-count = { $n ->
    [0] Aucun terminal dans cette liste.
    [one] { $n } terminal dans cette liste.
   *[other] { $n } terminaux dans cette liste.
}
exports-isp = CSV pour le ticket FAI
exports-isp-link = Télécharger le CSV FAI
exports-campaign = Exports « campagne »
exports-campaign-hint = La liste découpée en fichiers d'au plus 2 000 terminaux, la limite d'une campagne.
exports-part = Campagne, partie { $k } sur { $of }

## Jetons
tokens-title = Jetons
tokens-issue = Émettre un jeton
tokens-issue-submit = Émettre
tokens-issued = Voici le jeton. Copiez-le maintenant : il ne sera plus jamais affiché.
tokens-kind = Type
tokens-kind-admin = administration
tokens-kind-probe = sonde
tokens-list = Jetons émis
tokens-id = Identifiant
tokens-created = Émis le
tokens-revoked = Révoqué le
tokens-revoke = Révoquer
tokens-error-probe = Un jeton de sonde est rattaché à une sonde : remplissez le champ « Sonde ».
tokens-error-hash = Ce jeton n'existe pas.

## Erreurs
error-title = Erreur
error-back = Retour au tableau de bord
error-csrf = Formulaire refusé : il ne vient pas de cette console ou a expiré. Rechargez la page et recommencez.
error-database = La base de données ne répond pas : { $value }. Réessayez dans un instant.
error-no-probe = Aucun rapport reçu de la sonde « { $value } ».
error-since = « Depuis » attend une date (2026-03-02) ou un horodatage RFC 3339.
error-recommendation = Recommandation inconnue.
error-cursor = Lien de page invalide : revenez à la première page.
error-part = Cette partie de la campagne n'existe pas.
error-csv = L'export n'a pas pu être écrit.

## Les commandes du back-office : `token` et `export` (crates/backoffice/src/cli.rs).

token-issued = { $kind ->
    [admin] Jeton d'administration émis
    [probe] Jeton émis pour la sonde « { $probe } »
   *[other] Jeton émis
} (identifiant { $id }). Il n'est affiché qu'une fois : conservez-le maintenant (clé `token` de la configuration du démon, ou `Authorization: Bearer`).
token-not-an-id = { $text } n'est ni un jeton (stca2_...) ni un identifiant de jeton (8 chiffres hexadécimaux ou plus, tels que les affiche `stca2-probe token list`)
token-none-revoked = Aucun jeton actif ne correspond ; rien n'a été révoqué (voir `stca2-probe token list`).
token-revoked = { $count ->
    [one] { $count } jeton révoqué
   *[other] { $count } jetons révoqués
}.
token-list-id = identifiant
token-list-kind = type
token-list-probe = sonde
token-list-merchant = commerçant
token-list-created = créé le
token-list-revoked = révoqué le
export-bad-time = --{ $flag } { $value } n'est pas une date RFC 3339 (par exemple 2025-01-31T12:00:00Z)
export-cannot-create = impossible de créer { $path }
export-done = { $count ->
    [one] { $count } ligne exportée
   *[other] { $count } lignes exportées
}.
