"""Draws book/src/groups.svg and groups.pt-BR.svg: lesson 9's group as its readers join and leave.
Run from anywhere: python3 book/figures/groups.py"""
import pathlib

T = {
    'en': dict(title='Group workshop-readers on topic group-events', sub='6 partitions; each is read by one member of the group',
               rows=[('reader-1 alone', 'it reads all six partitions'),
                     ('reader-2 and reader-3 join: the group rebalances', 'two partitions each: three readers share the work'),
                     ('reader-3 stops and leaves: the group rebalances', 'its partitions 4 and 5 go to the others, which carry on from its committed offsets')],
               left='left the group', legend='P0 … P5: the partitions of group-events, coloured by the member reading them'),
    'pt-BR': dict(title='Grupo workshop-readers no tópico group-events', sub='6 partições; cada uma é lida por um só membro do grupo',
                  rows=[('reader-1 sozinho', 'ele lê as seis partições'),
                        ('reader-2 e reader-3 entram: o grupo rebalanceia', 'duas partições cada: três leitores dividem o trabalho'),
                        ('reader-3 para e sai: o grupo rebalanceia', 'as partições 4 e 5 dele vão para os outros, que seguem dos offsets que ele confirmou')],
                  left='saiu do grupo', legend='P0 … P5: as partições de group-events, na cor do membro que as lê'),
}
COLORS = {1: ('#1d4ed8', '#1e3a8a'), 2: ('#047857', '#064e3b'), 3: ('#b45309', '#78350f')}
ROWS = [{1: [0, 1, 2, 3, 4, 5]}, {1: [0, 1], 2: [2, 3], 3: [4, 5]}, {1: [0, 1, 2], 2: [3, 4, 5], 3: None}]


def draw(lang):
    t = T[lang]
    W, rowh, top = 720, 150, 76
    H = top + 3 * rowh + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="15" fill="#111">',
           f'  <rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>',
           f'  <text x="24" y="34" font-size="19" font-weight="bold">{t["title"]}</text>',
           f'  <text x="24" y="58" font-size="15" fill="#374151">{t["sub"]}</text>']
    for r, members in enumerate(ROWS):
        y0 = top + r * rowh
        head, foot = t['rows'][r]
        out.append(f'  <text x="24" y="{y0 + 22}" font-weight="bold">{r + 1}. {head}</text>')
        for m in (1, 2, 3):
            if m not in members:
                continue
            x = 24 + (m - 1) * 228
            parts = members[m]
            gone = parts is None
            stroke = '#9ca3af' if gone else COLORS[m][1]
            dash = ' stroke-dasharray="6 4"' if gone else ''
            out.append(f'  <rect x="{x}" y="{y0 + 34}" width="212" height="82" rx="10" fill="{"#f3f4f6" if gone else "#f8fafc"}" stroke="{stroke}" stroke-width="1.5"{dash}/>')
            label = f'reader-{m}' + (f' ({t["left"]})' if gone else '')
            out.append(f'  <text x="{x + 12}" y="{y0 + 56}" font-weight="bold" fill="{"#6b7280" if gone else "#111"}">{label}</text>')
            for i, p in enumerate(parts or []):
                cx, cy = x + 12 + i * 33, y0 + 70
                fill, edge = COLORS[m]
                out.append(f'  <rect x="{cx}" y="{cy}" width="29" height="34" rx="5" fill="{fill}" stroke="{edge}" stroke-width="1.5"/>')
                out.append(f'  <text x="{cx + 14.5}" y="{cy + 22}" text-anchor="middle" fill="#ffffff" font-size="13" font-weight="bold">P{p}</text>')
        out.append(f'  <text x="24" y="{y0 + 138}" fill="#166534">{foot}</text>')
    out.append(f'  <text x="24" y="{top + 3 * rowh + 14}" font-size="13" fill="#374151">{t["legend"]}</text>')
    out.append('</svg>')
    suffix = '' if lang == 'en' else '.pt-BR'
    path = pathlib.Path(__file__).resolve().parent.parent / 'src' / f'groups{suffix}.svg'
    path.write_text('\n'.join(out) + '\n')


for lang in T:
    draw(lang)
