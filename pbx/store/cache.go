package store

import "sync"

// extCache keeps decoded extensions in memory: every REGISTER and INVITE
// looks one up, and a bbolt read plus a JSON decode each time was a tenth
// of a registration's cost. Only this process writes the store while it
// holds the file lock, so dropping an entry on every write keeps the cache
// exact. Unknown numbers are not cached: a flood of made-up users cannot
// grow it, it holds at most the extensions that exist.
type extCache struct {
	mu sync.RWMutex
	m  map[string]Extension
	// gen counts writes: a read that raced a write must not cache the
	// value it read before the write committed.
	gen uint64
}

// generation is taken before reading the database.
func (c *extCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func (c *extCache) get(num string) (Extension, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.m[num]
	return e, ok
}

// put caches e read at generation gen, unless a write came since.
func (c *extCache) put(e Extension, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if c.m == nil {
		c.m = map[string]Extension{}
	}
	c.m[e.Number] = e
}

// trunkCache holds the decoded trunk list, dropped on every trunk write
// (generation-checked like extCache).
type trunkCache struct {
	mu    sync.RWMutex
	list  []Trunk
	valid bool
	gen   uint64
}

func (c *trunkCache) get() ([]Trunk, bool, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.list, c.valid, c.gen
}

func (c *trunkCache) put(list []Trunk, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.list, c.valid = list, true
	}
}

func (c *trunkCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.list, c.valid = nil, false
}

func (c *extCache) drop(num string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, num)
}
