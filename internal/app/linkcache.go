package app

import (
	"sync"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

// linkCache keeps, on one node, recent answers to "which link and file does
// this token name", so that a busy link's downloads do not each read the
// database. A copy may be out of date (the link revoked, the file renamed or
// deleted, on this node or another): it is never trusted alone. Every
// response served from it is checked against the database before it is
// written (see Shares.CountDownload and Shares.Verify).
type linkCache struct {
	mu      sync.Mutex
	entries map[string]cachedLink
	ttl     time.Duration
	max     int
}

type cachedLink struct {
	share satchel.Share
	file  satchel.File
	at    time.Time // monotonic: the domain clock may be a test's
}

func newLinkCache(ttl time.Duration, max int) *linkCache {
	return &linkCache{entries: make(map[string]cachedLink), ttl: ttl, max: max}
}

func (c *linkCache) get(token string) (satchel.Share, satchel.File, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[token]
	if !ok || time.Since(e.at) > c.ttl {
		return satchel.Share{}, satchel.File{}, false
	}
	return e.share, e.file, true
}

func (c *linkCache) put(token string, sh satchel.Share, f satchel.File) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[token]; !ok && len(c.entries) >= c.max {
		// Full: drop the expired entries, or any one if none has expired.
		for k, e := range c.entries {
			if time.Since(e.at) > c.ttl {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[token] = cachedLink{share: sh, file: f, at: time.Now()}
}

func (c *linkCache) drop(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, token)
}
