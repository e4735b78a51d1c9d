# Mots partagés par toutes les parties. Un fichier par partie du produit
# (check.ftl, console.ftl...), les mêmes fichiers dans chaque langue ;
# chaque message a les mêmes variables dans chaque langue (testé).

# Le nom de la langue dans la langue, pour le sélecteur de langue.
lang-name = Français

ports-count = { $count ->
    [one] { $count } port
   *[other] { $count } ports
}
