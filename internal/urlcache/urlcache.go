// Package urlcache parses URLs once: every delivery attempt needs the
// parsed form of a webhook URL, and a helpdesk has few distinct ones.
package urlcache

import (
	"net/url"
	"sync"
)

// maxEntries bounds the cache. When it is full it starts again empty, so
// a host with more distinct URLs than this parses them as if there were
// no cache, and memory stays bounded.
const maxEntries = 1024

var (
	mu    sync.RWMutex
	cache = make(map[string]*url.URL)
)

// Parse returns url.Parse(raw). The result is shared between callers and
// must not be modified.
func Parse(raw string) (*url.URL, error) {
	mu.RLock()
	u, ok := cache[raw]
	mu.RUnlock()
	if ok {
		return u, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	if len(cache) >= maxEntries {
		clear(cache)
	}
	cache[raw] = u
	mu.Unlock()
	return u, nil
}
