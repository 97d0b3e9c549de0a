// etcd-put-bench: a small write load generator for etcd v3, the etcd counterpart of
// `redis-benchmark -t set -c C -P P` for tools/raft-figures.
//
// C clients, each its own gRPC connection (clientv3.Client) to the given endpoint, each with P
// requests in flight (P goroutines sharing the connection, the gRPC analogue of pipelining),
// send Put(key:<random in [0, keyspace)>, <value-size bytes>) until N puts have been sent or
// the time limit passes. Prints one line:
//
//	requests=N errors=E seconds=S rps=R avg_ms=A p50_ms=X p99_ms=Y max_ms=Z
//
// Exits 1 when no put succeeded.
//
// Built by tools/raft-figures with Debian's Go and etcd sources (golang-go,
// golang-etcd-server-dev), GOPATH mode, no module download:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o build-release/etcd-put-bench tools/etcd-put-bench.go
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client URLs or host:port")
	clients := flag.Int("clients", 50, "connections (one clientv3.Client each)")
	inflight := flag.Int("inflight", 1, "requests in flight per connection")
	total := flag.Int64("n", 100000, "puts to send in all")
	keyspace := flag.Int("keyspace", 1000000, "keys are key:<random below this>")
	valueSize := flag.Int("value-size", 3, "bytes per value (redis-benchmark's default is 3)")
	limit := flag.Duration("max-time", 60*time.Second, "stop sending after this long")
	timeout := flag.Duration("timeout", 10*time.Second, "per-put timeout")
	flag.Parse()

	value := strings.Repeat("x", *valueSize)
	eps := strings.Split(*endpoints, ",")
	conns := make([]*clientv3.Client, *clients)
	for i := range conns {
		c, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd-put-bench: connect: %v\n", err)
			os.Exit(1)
		}
		defer c.Close()
		conns[i] = c
	}
	// Warm every connection up so connection set-up is not timed.
	for _, c := range conns {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		_, err := c.Put(ctx, "etcd-put-bench-warmup", value)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd-put-bench: warm-up put: %v\n", err)
			os.Exit(1)
		}
	}

	var sent, errs int64
	workers := *clients * *inflight
	lats := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(*limit)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := conns[w%*clients]
			rng := rand.New(rand.NewSource(int64(w) + 1))
			mine := make([]time.Duration, 0, int(*total)/workers+1)
			for atomic.AddInt64(&sent, 1) <= *total {
				key := fmt.Sprintf("key:%012d", rng.Intn(*keyspace))
				t0 := time.Now()
				if t0.After(deadline) {
					break
				}
				ctx, cancel := context.WithTimeout(context.Background(), *timeout)
				_, err := c.Put(ctx, key, value)
				cancel()
				if err != nil {
					atomic.AddInt64(&errs, 1)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			lats[w] = mine
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all []time.Duration
	var sum time.Duration
	for _, l := range lats {
		all = append(all, l...)
		for _, d := range l {
			sum += d
		}
	}
	if len(all) == 0 {
		fmt.Fprintf(os.Stderr, "etcd-put-bench: no put succeeded (%d errors)\n", errs)
		os.Exit(1)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) float64 { // nearest rank
		k := int(p*float64(len(all))/100.0+0.999999) - 1
		if k < 0 {
			k = 0
		}
		if k >= len(all) {
			k = len(all) - 1
		}
		return float64(all[k]) / 1e6
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	fmt.Printf("requests=%d errors=%d seconds=%.3f rps=%.0f avg_ms=%.3f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
		len(all), errs, elapsed.Seconds(), float64(len(all))/elapsed.Seconds(),
		ms(sum)/float64(len(all)), pct(50), pct(99), ms(all[len(all)-1]))
}
