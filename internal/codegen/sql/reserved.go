package sql

// reservedWords are words reserved (or troublesome as bare column names) in at
// least one of the dialects. A generated identifier that is one of them is quoted
// in every dialect, so that the same column reads the same everywhere.
var reservedWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{
		"all", "alter", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric",
		"at", "authorization", "between", "binary", "both", "by", "case", "cast", "check",
		"collate", "collation", "column", "concurrently", "connect", "connection", "constraint",
		"create", "cross", "cube", "current", "current_catalog", "current_date", "current_role",
		"current_schema", "current_time", "current_timestamp", "current_user", "date", "default",
		"deferrable", "delete", "desc", "describe", "distinct", "do", "drop", "else", "end",
		"enum", "escape", "except", "exclude", "exists", "extract", "false", "fetch", "following",
		"for", "foreign", "freeze", "from", "full", "function", "grant", "group", "grouping",
		"groups", "hash", "having", "ignore", "ilike", "in", "increment", "initially", "inner",
		"insert", "interval", "intersect", "into", "is", "isnull", "join", "lateral", "leading",
		"left", "like", "limit", "localtime", "localtimestamp", "lookup", "merge", "minus",
		"natural", "new", "no", "not", "notnull", "null", "nulls", "of", "offset", "on", "only",
		"or", "order", "organization", "outer", "over", "overlaps", "partition", "pivot",
		"placing", "preceding", "primary", "qualify", "range", "recursive", "references",
		"regexp", "respect", "returning", "revoke", "right", "rlike", "rollup", "row", "rows",
		"sample", "select", "session_user", "set", "settings", "show", "similar", "some",
		"start", "struct", "symmetric", "table", "tablesample", "then", "to", "trailing",
		"treat", "trigger", "true", "try_cast", "unbounded", "union", "unique", "unnest",
		"unpivot", "update", "user", "using", "values", "variadic", "verbose", "when",
		"whenever", "where", "window", "with", "within",
	} {
		m[w] = true
	}
	return m
}()
