package replay

import (
	"errors"
	"fmt"
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

// Routes registers POST /v1/bad/replay and GET /v1/bad/summary on mux, for
// callers presenting the admin token: a replay unseals personal data, and a
// summary says whose subjects were forgotten.
func (r *Replayer) Routes(mux *http.ServeMux, guard *admin.Guard) {
	mux.Handle("POST /v1/bad/replay", guard.Wrap(r.serve))
	mux.Handle("GET /v1/bad/summary", guard.Wrap(r.serveSummary))
}

// serveSummary answers the summary of the days ?from=&to= (YYYY-MM-DD, both
// optional) of this collector's bad rows, its vault asked which subjects were
// forgotten.
func (r *Replayer) serveSummary(w http.ResponseWriter, req *http.Request, actor string) {
	query := req.URL.Query()
	for name := range query {
		if name != "from" && name != "to" {
			admin.WriteError(w, http.StatusBadRequest, admin.CodeBadRequest, fmt.Sprintf("unknown parameter %q: a summary takes \"from\" and \"to\" (days as YYYY-MM-DD)", clip(name)))
			return
		}
		if len(query[name]) > 1 {
			admin.WriteError(w, http.StatusBadRequest, admin.CodeBadRequest, fmt.Sprintf("%q is given %d times; give it once", name, len(query[name])))
			return
		}
	}
	from, to := query.Get("from"), query.Get("to")
	if err := (&Request{From: from, To: to}).Validate(); err != nil {
		admin.WriteError(w, http.StatusBadRequest, admin.CodeBadRequest, err.Error())
		return
	}
	sum, err := r.Summarize(req.Context(), from, to)
	if err != nil {
		r.d.Log.Error("bad-row summary failed", "actor", actor, "err", err)
		admin.WriteError(w, http.StatusInternalServerError, admin.CodeInternal, "the summary failed: "+err.Error())
		return
	}
	r.d.Log.Info("bad-row summary", "actor", actor, "rows", sum.Rows, "unchecked", sum.Unchecked)
	admin.WriteJSON(w, http.StatusOK, sum)
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
