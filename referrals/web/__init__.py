"""The reviewer's desk: server-rendered pages for every role, on the same app, rules and actions as the API."""
