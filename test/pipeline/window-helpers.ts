// What the windowed test pipelines run.

// One file per window, named after the window's first day: its bounds, its commits in order,
// and, commit by commit, what the command found under /pfs/series/<commit>/.
export const REPORT = [
  'day=$(echo "$TUSK_WINDOW_START" | cut -c1-10)',
  'out=/pfs/out/$day.txt',
  'echo "$TUSK_WINDOW_START $TUSK_WINDOW_END" > $out',
  'echo "$TUSK_WINDOW_COMMITS" >> $out',
  'cd "$series" && for c in $TUSK_WINDOW_COMMITS; do find $c -type f | sort; done >> $out',
];
