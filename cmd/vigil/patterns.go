package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"vigil/internal/patterns"
)

func init() { areaCommands = append(areaCommands, patternsCmd) }

func patternsCmd(_ *globals) *cobra.Command {
	var assign bool
	var opts patterns.Options
	cmd := &cobra.Command{
		Use:   "patterns [files…]",
		Short: "Group log lines into templates (from files, or stdin) and print each template with its count",
		Long: `Reads log lines from the files (or stdin when none or "-") and groups them into
templates whose variable parts (numbers, ids, addresses, paths, durations, quoted
and key=value values) show as <*>.

Default output: one line per template, most frequent first: ID, COUNT, TEMPLATE (tab-separated).
With --assign: one line per input line, in input order: ID, TEMPLATE (tab-separated),
where ID is the template's final id (the same ids as the default output).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPatterns(cmd.OutOrStdout(), cmd.InOrStdin(), args, assign, opts)
		},
	}
	cmd.Flags().BoolVar(&assign, "assign", false, "print each input line's template id and template, in input order")
	cmd.Flags().IntVar(&opts.MergeValues, "merge-values", 4, "distinct words at one position that make it a variable")
	return cmd
}

// maxInputLine bounds one input line in memory; the miner reads only its start anyway.
const maxInputLine = 1 << 20

func runPatterns(out io.Writer, stdin io.Reader, files []string, assign bool, opts patterns.Options) error {
	m := patterns.NewMiner(opts)
	var ids []patterns.ID
	add := func(r io.Reader, name string) error {
		br := bufio.NewReaderSize(r, 64<<10)
		var long []byte
		for {
			chunk, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				if len(long) < maxInputLine {
					long = append(long, chunk...)
				}
				continue
			}
			if len(long) > 0 {
				if len(long) < maxInputLine {
					long = append(long, chunk...)
				}
				chunk, long = long, long[:0]
			}
			if len(chunk) > 0 {
				id := m.Add(strings.TrimRight(string(chunk), "\r\n"))
				if assign {
					ids = append(ids, id)
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
		}
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, name := range files {
		if name == "-" {
			if err := add(stdin, "stdin"); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		err = add(f, name)
		f.Close()
		if err != nil {
			return err
		}
	}
	// Number templates 1… by frequency so both outputs share ids.
	number := map[patterns.ID]int{}
	w := bufio.NewWriter(out)
	templates := m.Templates()
	for i, t := range templates {
		number[t.ID] = i + 1
	}
	if assign {
		for _, id := range ids {
			t := m.Template(id)
			fmt.Fprintf(w, "%d\t%s\n", number[t.ID], printable(t.Text()))
		}
	} else {
		for i, t := range templates {
			fmt.Fprintf(w, "%d\t%d\t%s\n", i+1, t.Count, printable(t.Text()))
		}
	}
	return w.Flush()
}

// printable keeps the output one valid UTF-8 line per record.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
