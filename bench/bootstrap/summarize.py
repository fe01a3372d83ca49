"""Prints the benchmark table from run.sh's results.jsonl."""

import json
import os
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {(r['case'], r['impl']): r for r in rows}
print(f"machine: {os.cpu_count()} cores; ours uses {rows[0].get('threads', '?')} threads")
print(f"{'case':16} {'reference':>11} {'ours':>9} {'ratio':>7} {'ns/run*ex*draw':>15}"
      f" {'ours numpy:42':>14} {'numpy report = reference':>26}")
for case in ['mnli_paired', 'coref_unpaired']:
    ref = by.get((case, 'reference'))
    ours = by.get((case, 'ours-chacha8'))
    npm = by.get((case, 'ours-numpy'))
    if not (ref and ours and npm):
        print(f'{case}: missing results')
        continue
    same = 'yes' if npm['lines'] == ref['lines'] else 'NO'
    print(f"{case:16} {ref['median_s']:10.3f}s {ours['median_s']:8.4f}s "
          f"{ref['median_s'] / ours['median_s']:6.0f}x {ours['ns_per_run_example_draw']:15.3f}"
          f" {npm['median_s']:13.3f}s {same:>26}")
    if same != 'yes':
        print('  reference:', *ref['lines'], sep='\n    ')
        print('  ours numpy:', *npm['lines'], sep='\n    ')
