// Package schema is the ent schema of the integration test: one entity.
package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

// Item holds the schema definition for the Item entity. WrittenBy is set by
// a trigger to the @@server_id of the server that ran the write.
type Item struct {
	ent.Schema
}

// Fields of the Item.
func (Item) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").MaxLen(64),
		field.Int("written_by").Default(0),
	}
}
