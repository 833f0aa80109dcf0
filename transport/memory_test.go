package transport_test

import (
	"strconv"
	"testing"

	"github.com/filepeer/peer/transport"
	"github.com/filepeer/peer/transport/transporttest"
)

func TestMemoryConformance(t *testing.T) {
	transporttest.Run(t, func(t *testing.T) (transport.Transport, func() string) {
		n := 0
		return transport.NewMemory(), func() string {
			n++
			return "mem://node" + strconv.Itoa(n)
		}
	})
}
