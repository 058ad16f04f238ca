"""UI: the widget kit, HTML templates and the casebook stylesheet, the case player and home page.

Widgets render what `casebook.rules` decided and never compute points, verdicts, concordance
or tallies themselves. May import: `casebook.content`, `casebook.rules`, `casebook.errors`,
`casebook.selfstudy` (the home page's progress). Never SQLAlchemy.
"""
