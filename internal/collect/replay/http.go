package replay

import (
	"errors"
	"net/http"

	"github.com/accord-dev/accord/internal/admin"
)

// requestFields names the fields of a replay request, for the message about an
// unknown one.
const requestFields = `a replay takes "from", "to", "reasons", "schemas", "ids", "as", "limit", "after" and "dry_run"`

// StoppedBody is the answer of a replay that stopped on an error: the error,
// and the report of what it did before.
type StoppedBody struct {
	admin.ErrorBody
	Report Report `json:"report"`
}

// Routes registers POST /v1/bad/replay on mux, for callers presenting the admin
// token: a replay unseals personal data.
func (r *Replayer) Routes(mux *http.ServeMux, guard *admin.Guard) {
	mux.Handle("POST /v1/bad/replay", guard.Wrap(r.serve))
}

func (r *Replayer) serve(w http.ResponseWriter, req *http.Request, actor string) {
	var q Request
	if !admin.DecodeBody(w, req, &q, requestFields) {
		return
	}
	if err := q.Validate(); err != nil {
		admin.WriteError(w, http.StatusBadRequest, admin.CodeBadRequest, err.Error())
		return
	}
	rep, err := r.Run(req.Context(), actor, q)
	switch {
	case errors.Is(err, ErrBusy):
		admin.WriteError(w, http.StatusConflict, "replay_running", err.Error())
	case err != nil:
		w.Header().Set("Retry-After", "5")
		admin.WriteJSON(w, http.StatusServiceUnavailable, StoppedBody{
			ErrorBody: admin.ErrorBody{Error: "replay_stopped", Message: err.Error() + "; the rows it stored are in the ledger: run the replay again to go on"},
			Report:    rep})
	default:
		admin.WriteJSON(w, http.StatusOK, rep)
	}
}
