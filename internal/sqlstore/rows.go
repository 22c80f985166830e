package sqlstore

import (
	"context"

	"github.com/satchelhq/satchel/internal/satchel"
)

// queryAll runs a query and scans each row into a T; dest names the fields
// of a T that a row fills. The rows are closed when it returns, so the caller
// may start transactions at once (SQLite has few connections). No rows is an
// empty slice, never nil.
func queryAll[T any](ctx context.Context, s *Store, op string, dest func(*T) []any, query string, args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		var item T
		if err := rows.Scan(dest(&item)...); err != nil {
			return nil, s.wrap(op, err)
		}
		items = append(items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	return items, nil
}

// queryPage runs a newest-first listing that asks for limit+1 rows and makes
// a page of the first limit, with the cursor of the last one when there are
// more.
func queryPage[T any](ctx context.Context, s *Store, op string, dest func(*T) []any, cursor func(T) satchel.Cursor,
	limit int, query string, args ...any) (satchel.Page[T], error) {
	items, err := queryAll(ctx, s, op, dest, query, args...)
	if err != nil {
		return satchel.Page[T]{}, err
	}
	page := satchel.Page[T]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = cursor(page.Items[limit-1]).Encode()
	}
	return page, nil
}

// oneString is the dest of a row of one text column.
func oneString(v *string) []any { return []any{v} }
