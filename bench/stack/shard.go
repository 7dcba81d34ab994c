package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
)

// sessionsPerShard is how many sessions one emulator should hold at most: the
// emulator keeps up to 100 000 and then scans all of them on every new one.
const sessionsPerShard = 80_000

// maxOwners bounds the access-key-to-shard map.
const maxOwners = 4 << 20

var (
	signingKeyRE = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)
	accessKeyRE  = regexp.MustCompile(`<AccessKeyId>([A-Z0-9]+)</AccessKeyId>`)
)

// shardProxy spreads STS calls over several emulators so that none holds
// more sessions than it handles quickly: unsigned calls (AssumeRoleWithWebIdentity)
// go round-robin, and a call signed with session credentials goes to the
// emulator that issued them. The Host header is kept, so SigV4 still verifies.
type shardProxy struct {
	shards []*httputil.ReverseProxy
	next   atomic.Uint64

	mu    sync.Mutex
	owner map[string]int // access key id → shard that issued it
}

func newShardProxy(urls []string) (*shardProxy, error) {
	p := &shardProxy{owner: make(map[string]int)}
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, err
		}
		rp := httputil.NewSingleHostReverseProxy(u) // keeps the incoming Host
		rp.ModifyResponse = func(resp *http.Response) error { return p.learn(resp, i) }
		p.shards = append(p.shards, rp)
	}
	return p, nil
}

func (p *shardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	shard := int(p.next.Add(1) % uint64(len(p.shards)))
	if m := signingKeyRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		p.mu.Lock()
		if s, ok := p.owner[m[1]]; ok {
			shard = s
		}
		p.mu.Unlock()
	}
	p.shards[shard].ServeHTTP(w, r)
}

// learn records which shard issued the credentials in resp.
func (p *shardProxy) learn(resp *http.Response, shard int) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("shard %d: %w", shard, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if m := accessKeyRE.FindSubmatch(body); m != nil {
		p.mu.Lock()
		if len(p.owner) < maxOwners {
			p.owner[string(m[1])] = shard
		}
		p.mu.Unlock()
	}
	return nil
}
