// Command chat shows a program's own remote methods: three nodes on
// loopback register chat.say with Node.Handle, and each says a line to
// its peers with Node.Call; every node prints what it heard.
//
//	go run ./examples/chat
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/filepeer/peer"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// run starts the nodes, has each say hello to the others, and writes
// what each heard to out, sorted.
func run(ctx context.Context, out io.Writer) error {
	names := []string{"ann", "bob", "cat"}
	var mu sync.Mutex
	var heard []string
	nodes := make(map[string]*peer.Node)
	urls := make(map[string]string)
	for _, name := range names {
		tmp, err := os.MkdirTemp("", "chat-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		url, err := freeURL()
		if err != nil {
			return err
		}
		n, err := peer.New(peer.Config{URL: url, Dir: tmp, PingInterval: -1, LeaveTimeout: -1})
		if err != nil {
			return err
		}
		defer n.Close()
		urls[url] = name
		err = n.Handle("chat.say", func(ctx context.Context, from string, args []any) (any, error) {
			if len(args) != 1 {
				return nil, errors.New("chat.say takes one line")
			}
			line, ok := args[0].(string)
			if !ok {
				return nil, errors.New("chat.say takes a string")
			}
			mu.Lock()
			heard = append(heard, fmt.Sprintf("%s heard %s: %s", name, urls[from], line))
			mu.Unlock()
			return "ok", nil
		})
		if err != nil {
			return err
		}
		if err := n.Start(); err != nil {
			return err
		}
		nodes[name] = n
	}
	for _, a := range names {
		for _, b := range names {
			if a != b {
				if err := nodes[a].Hello(ctx, nodes[b].URL()); err != nil {
					return err
				}
			}
		}
	}
	for _, name := range names {
		for _, p := range nodes[name].Known() {
			if _, err := nodes[name].Call(ctx, p, "chat.say", "hi from "+name); err != nil {
				return err
			}
		}
	}
	sort.Strings(heard)
	_, err := fmt.Fprintln(out, strings.Join(heard, "\n"))
	return err
}

func freeURL() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return "http://" + l.Addr().String(), nil
}
