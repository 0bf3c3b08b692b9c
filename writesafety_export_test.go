package rwsplit

// Test-only access to write-safety internals for the external test package.

// IsConnError is isConnError: whether err means a lost connection.
var IsConnError = isConnError
