"""Self-study: a named learner's attempts, resumed and retried, and their progress.

May import: `casebook.content`, `casebook.rules`, `casebook.records`, `casebook.ui`,
`casebook.errors`.
"""
