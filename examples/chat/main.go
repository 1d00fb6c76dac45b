// Command chat is Pomelo's chat demo as a pomeloctl game: topology.yaml
// names it as every server type's command, and `pomeloctl up` runs it
// (install.sh builds it beside the topology).
package main

import (
	"github.com/pomeloctl/pomeloctl/engine"
	"github.com/pomeloctl/pomeloctl/examples/chat/game"
)

func main() { engine.Main(game.App()) }
