//go:build tools

package peer

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/chzyer/readline"
	_ "github.com/hashicorp/golang-lru/v2"
	_ "github.com/kolo/xmlrpc"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/stretchr/testify/require"
	_ "go.uber.org/goleak"
)
