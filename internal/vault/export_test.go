package vault

// PageWrites returns how many page writes the store's transactions have made, for
// benchmarks that report the pages a write costs (a count that, unlike latency, the
// machine's other load does not disturb).
func (s *BoltStore) PageWrites() int64 {
	st := s.db.Stats().TxStats
	return st.GetWrite()
}
