package httpapi_test

import (
	"os"
	"testing"

	"github.com/satchelhq/satchel/internal/testutil/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
