package httpapi_test

import (
	"os"
	"testing"

	"github.com/satchelhq/satchel/internal/testutil/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }
