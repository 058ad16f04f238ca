"""The instructor dashboard: analytics over the records (analytics) and its page (page).

May import: `casebook.content`, `casebook.rules`, `casebook.records`, `casebook.ui`,
`casebook.errors`.
"""
