// Package faultproxy is a TCP proxy that tests put between Satchel and a
// dependency (the database, the object store) and switch off and on, to see
// Satchel lose the dependency and get it back, or stall, so that the
// dependency hangs without refusing anything.
package faultproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards connections on Addr to a target.
type Proxy struct {
	Addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	// stalled holds every byte in both directions (and takes new
	// connections) until Resume.
	stalled bool
	flowing *sync.Cond
	wg      sync.WaitGroup
	down    atomic.Int64 // bytes sent from the target to the client
}

// BytesDown returns how many bytes went from the target to clients.
func (p *Proxy) BytesDown() int64 { return p.down.Load() }

// gate writes only while the proxy is not stalled.
type gate struct {
	w io.Writer
	p *Proxy
}

func (g gate) Write(b []byte) (int, error) {
	g.p.mu.Lock()
	for g.p.stalled {
		g.p.flowing.Wait()
	}
	g.p.mu.Unlock()
	return g.w.Write(b)
}

// Stall stops forwarding: connections stay open and new ones are taken, but
// no byte moves either way. To its clients the dependency hangs.
func (p *Proxy) Stall() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
}

// Resume forwards again, starting with what was held.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.stalled = false
	p.flowing.Broadcast()
	p.mu.Unlock()
}

// countingWriter counts what it writes.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// New starts a proxy to target on a free local port, stopped at cleanup.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.flowing = sync.NewCond(&p.mu)
	p.serve(ln)
	t.Cleanup(func() {
		p.Down()
		p.wg.Wait()
	})
	return p
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *Proxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil { // went down meanwhile
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(gate{up, p}, c); done <- struct{}{} }()
	go func() { io.Copy(gate{countingWriter{c, &p.down}, p}, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// Down stops accepting connections and cuts the open ones: to whoever uses
// the proxy, the dependency is gone (connections are refused).
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.stalled = false
	p.flowing.Broadcast()
}

// Up listens again on the same address.
func (p *Proxy) Up(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		t.Fatalf("proxy up again: %v", err)
	}
	p.serve(ln)
}
