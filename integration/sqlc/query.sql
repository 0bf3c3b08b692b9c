-- name: CreateItem :execlastid
INSERT INTO items (name) VALUES (?);

-- name: GetItem :one
SELECT id, name, written_by FROM items WHERE id = ?;

-- name: GetItemReadBy :one
SELECT id, name, written_by, CAST(@@server_id AS SIGNED) AS read_by FROM items WHERE id = ?;

-- name: ListItems :many
SELECT id, name, written_by FROM items WHERE id >= ? ORDER BY id LIMIT ?;

-- name: RenameItem :execrows
UPDATE items SET name = ? WHERE id = ?;

-- name: ServerID :one
SELECT CAST(@@server_id AS SIGNED) AS server_id;
