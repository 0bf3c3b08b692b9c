package ent

// The generated code is committed: tests do not generate. After a change to
// ./schema, run `go generate ./ent` (it needs the module proxy once).
//go:generate go run entgo.io/ent/cmd/ent@v0.14.5 generate --feature sql/modifier ./schema
