"""Messages to members (F9): the message shape, the inbox writer and the device lookup that
the sending pipeline uses. The member-facing HTTP APIs are `lederappen.devices` and
`lederappen.inbox`; this package is what a sender (fan-out, FCM) calls."""
