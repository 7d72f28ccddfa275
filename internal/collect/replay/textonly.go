package replay

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/accord-dev/accord/internal/event"
)

// textOnlyWhy says why a row that keeps its event as text only (payload_text:
// no event could be read from what was received) cannot be replayed. Such rows
// come from several reasons, and their text from several shapes, so the
// explanation says what the text is and names the row's reason instead of
// guessing one: text that is not JSON (malformed_json), JSON that is not an
// event object (a native body of null, 42 or an array: malformed_event), the
// fields an event was sent with (a Snowplow event type Accord does not map:
// event_name_unknown), or the start of a longer text.
func textOnlyWhy(row *event.BadRow) string {
	var what string
	text := bytes.TrimSpace([]byte(row.PayloadText))
	switch {
	case len(row.PayloadText) >= event.MaxBadPayloadText:
		what = fmt.Sprintf("the first %d KiB of a longer text", event.MaxBadPayloadText>>10)
	case !json.Valid(text):
		what = "text that is not valid JSON"
	case text[0] == '{':
		what = "the fields it was sent with, as a JSON object"
	default:
		what = "JSON that is not an event object"
	}
	return fmt.Sprintf("the event was kept as text only (payload_text: %s), rejected as %s (the row's failures say how): with no event to process again, its producer must fix it and send it again", what, row.Reason)
}
