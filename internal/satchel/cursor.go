package satchel

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Cursor marks a position in a newest-first list: the (created_at, id) of the
// last item of the previous page.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Encode returns the opaque text form of the cursor.
func (c Cursor) Encode() string {
	raw := strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseCursor parses a cursor made by Encode.
func ParseCursor(s string) (Cursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, false
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return Cursor{}, false
	}
	n, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || !ValidID(id) {
		return Cursor{}, false
	}
	return Cursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, true
}

// NewID returns a new object ID: a UUID whose leading bits are the time, so
// that new rows land at the end of their indexes.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// ValidID reports whether s is a UUID in its canonical lowercase form.
func ValidID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && len(s) == 36 && u.String() == s
}
