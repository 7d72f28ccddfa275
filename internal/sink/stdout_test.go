package sink_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/accord-dev/accord/internal/sink"
	"github.com/accord-dev/accord/internal/sink/sinktest"
)

func TestStdoutConformance(t *testing.T) {
	sinktest.Run(t, func(t testing.TB) sinktest.Target {
		var buf bytes.Buffer
		return sinktest.Target{
			Sink: sink.NewStdout(&buf),
			Stored: func(context.Context) ([]string, error) {
				var ids []string
				sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var e struct {
						EventID string `json:"event_id"`
					}
					if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
						return nil, err
					}
					ids = append(ids, e.EventID)
				}
				return ids, sc.Err()
			},
		}
	})
}
