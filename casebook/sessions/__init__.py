"""Live teaching sessions: join codes and the instructor key, the state machine, the room,
the learner's side, the instructor's console and the report after a session.

May import: `casebook.content`, `casebook.rules`, `casebook.records`, `casebook.ui`,
`casebook.errors`.
"""
