/** The page's only stylesheet, inlined (no CDN, no font download): system fonts, light and dark. */
export const STYLES = `
:root{--bg:#f6f7fb;--card:#fff;--ink:#0f172a;--muted:#64748b;--line:#e5e7ef;--accent:#4f46e5;--accent-soft:#a5b4fc;
--bar:#e6e9fd;--warn:#f59e0b;--good:#059669;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0b1020;--card:#131a2e;--ink:#e2e8f0;--muted:#94a3b8;--line:#243049;
--accent:#818cf8;--accent-soft:#3f4aa8;--bar:#1d2646}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;-webkit-font-smoothing:antialiased}
header{background:var(--card);border-bottom:1px solid var(--line)}
.bar-top{max-width:1240px;margin:0 auto;padding:14px 24px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
.brand{display:flex;align-items:center;gap:10px;font-weight:650;font-size:17px;margin-right:auto}
.logo{width:28px;height:28px;border-radius:8px;background:linear-gradient(135deg,#6366f1,#8b5cf6);display:grid;place-items:center;color:#fff;font-weight:700;font-size:15px}
.brand small{display:block;font-weight:400;color:var(--muted);font-size:12px}
form.range{display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.presets{display:flex;border:1px solid var(--line);border-radius:8px;overflow:hidden}
.presets a{padding:6px 10px;color:var(--muted);text-decoration:none;font-size:13px;border-right:1px solid var(--line)}
.presets a:last-child{border-right:0}
.presets a[aria-current]{background:var(--bar);color:var(--accent);font-weight:600}
input,button{font:inherit;color:inherit}
input[type=date],input[type=text]{border:1px solid var(--line);background:var(--card);border-radius:8px;padding:5px 8px}
button{border:0;background:var(--accent);color:#fff;border-radius:8px;padding:6px 14px;font-weight:600;cursor:pointer}
main{max-width:1240px;margin:0 auto;padding:20px 24px 40px;display:grid;gap:16px;grid-template-columns:repeat(6,minmax(0,1fr))}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;min-width:0}
.span-6{grid-column:span 6}.span-3{grid-column:span 3}.span-2{grid-column:span 2}
@media (max-width:900px){.span-3,.span-2{grid-column:span 6}}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:0 0 12px;font-weight:600}
h3{font-size:13px;color:var(--muted);margin:14px 0 6px;font-weight:600}
.stack{display:grid;gap:16px;align-content:start;min-width:0}
.figures{display:flex;flex-wrap:wrap;row-gap:12px}
.figure{flex:1 1 0;padding:4px 16px;border-left:1px solid var(--line)}
.figure .label{white-space:nowrap}
.figure:first-child{border-left:0;padding-left:0}
.figure .label{color:var(--muted);font-size:12.5px}
.figures.overview{display:grid;grid-template-columns:repeat(4,minmax(0,1fr))}
.figures.overview .figure:nth-child(4n+1){border-left:0;padding-left:0}
@media (max-width:900px){.figures.overview{grid-template-columns:repeat(2,minmax(0,1fr))}
.figures.overview .figure:nth-child(odd){border-left:0;padding-left:0}.figures.overview .figure:nth-child(even){border-left:1px solid var(--line);padding-left:16px}}
.figure .value{white-space:nowrap;font-size:26px;font-weight:650;letter-spacing:-.01em;font-variant-numeric:tabular-nums}
.figure .sub{color:var(--muted);font-size:12px}
.live{display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--good);margin-right:6px;box-shadow:0 0 0 3px #05966933}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th{font-weight:600;color:var(--muted);font-size:12px;text-align:left;padding:6px 8px;border-bottom:1px solid var(--line)}
td{padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:middle}
tr:last-child td{border-bottom:0}
th.num,td.num{text-align:right;white-space:nowrap}
.barcell{position:relative;padding:2px 6px;overflow:hidden}
.barcell .fill{position:absolute;inset:0 auto 0 0;background:var(--bar);border-radius:5px}
.barcell .text{position:relative;display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:100%}
.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.muted{color:var(--muted)}
.none{color:var(--muted);text-align:center;padding:18px}
.note{color:var(--muted);font-size:12px;margin:10px 0 0}
.legend{display:flex;gap:16px;color:var(--muted);font-size:12.5px;margin-bottom:6px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:3px;margin-right:6px;vertical-align:-1px}
.chart{width:100%;height:auto;display:block}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .axis{fill:var(--muted);font-size:11px}
.chart .bar-anon{fill:var(--accent-soft)}
.chart .bar-auth{fill:var(--accent)}
.chart .hover{fill:transparent}
.chart g:hover .hover{fill:var(--bar)}
.chart .line{fill:none;stroke:var(--warn);stroke-width:2;stroke-linejoin:round}
.chart .dot{fill:var(--card);stroke:var(--warn);stroke-width:2}
.chart .empty{fill:var(--muted);font-size:14px}
.steps{display:flex;flex-wrap:wrap;gap:4px;align-items:center}
.step{background:var(--bar);border-radius:6px;padding:1px 7px}
.arrow{color:var(--muted)}
form.funnel{display:flex;gap:8px;margin-bottom:12px}
form.funnel input{flex:1;min-width:0}
.error{color:#b91c1c;font-size:12.5px;margin:0 0 10px}
.error-page{max-width:560px;margin:80px auto;padding:24px}
a{color:var(--accent)}
footer{max-width:1240px;margin:0 auto;padding:0 24px 32px;color:var(--muted);font-size:12px}
`;
