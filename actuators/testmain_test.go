package actuators

import (
	"testing"

	"github.com/autotuner/autotuner/internal/testenv"
)

// TestMain says, in one line, which emulator tests were skipped and how to
// install what they need.
func TestMain(m *testing.M) { testenv.Main(m) }
