package patterns

// GroupingAccuracy is the share of lines whose predicted group holds exactly
// the same lines as their true group. truth and predicted label each line.
func GroupingAccuracy[T, P comparable](truth []T, predicted []P) float64 {
	if len(truth) == 0 || len(truth) != len(predicted) {
		return 0
	}
	type pair struct {
		t T
		p P
	}
	nt, np, both := map[T]int{}, map[P]int{}, map[pair]int{}
	for i := range truth {
		nt[truth[i]]++
		np[predicted[i]]++
		both[pair{truth[i], predicted[i]}]++
	}
	correct := 0
	for k, n := range both {
		if n == nt[k.t] && n == np[k.p] {
			correct += n
		}
	}
	return float64(correct) / float64(len(truth))
}
