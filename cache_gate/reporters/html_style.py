"""The HTML report's style sheet, inline in the page: a light and a dark scheme (the
reader's system chooses), and the colours of the charts' classes (`s0`...`s8`: the
Okabe-Ito palette, told apart with colour-blindness too; the data tables say the same
without colour)."""

STYLE = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e;
  --grid: #d1d9e0; --panel: #f6f8fa; --pass: #1a7f37; --fail: #cf222e;
  --s0: #0072b2; --s1: #e69f00; --s2: #009e73; --s3: #cc79a7; --s4: #56b4e9;
  --s5: #d55e00; --s6: #8f7f00; --s7: #6a3d9a; --s8: #777777; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --grid: #3d444d;
    --panel: #151b23; --pass: #3fb950; --fail: #f85149;
    --s0: #56b4e9; --s1: #f0b840; --s2: #2fc79a; --s3: #e29ac6; --s4: #8ccff2;
    --s5: #ff7a33; --s6: #d8c640; --s7: #b58ce0; --s8: #a0a0a0; }
}
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--grid); }
.passed { color: var(--pass); } .failed { color: var(--fail); }
.note { color: var(--muted); }
figure { margin: 1rem 0; padding: .5rem; background: var(--panel); border-radius: 6px; }
figcaption { color: var(--muted); font-size: .9rem; }
details summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { padding: .2rem .6rem; border-bottom: 1px solid var(--grid); text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--grid); stroke-width: 1; }
svg .tick, svg .level-label, svg .marker-label { fill: var(--muted); font-size: 11px; }
svg .level { stroke: var(--fail); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .marker { stroke: var(--fg); stroke-width: 1.5; stroke-dasharray: 2 3; }
svg .marker.recommended { stroke: var(--pass); stroke-dasharray: none; }
svg .line { stroke-width: 2; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; padding: 0;
  margin: .25rem 0; font-size: .85rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .35rem;
  vertical-align: -.1rem; border-radius: 2px; }
""" + "".join(f"svg .s{i} {{ fill: var(--s{i}); }} "
              f"svg .line.s{i} {{ fill: none; stroke: var(--s{i}); }} "
              f".swatch.s{i} {{ background: var(--s{i}); }}\n" for i in range(9))
