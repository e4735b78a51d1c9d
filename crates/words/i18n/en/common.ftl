# Words every part shares. One file per part of the product (check.ftl,
# console.ftl, ...), the same files in every language; each message has
# the same variables in every language (tested).

# The language's own name, for a language switch.
lang-name = English

ports-count = { $count ->
    [one] { $count } port
   *[other] { $count } ports
}
