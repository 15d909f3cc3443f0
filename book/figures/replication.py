"""Draws book/src/replication.svg and replication.pt-BR.svg: lesson 8's partitions as brokers die.
Run for each language: python3 book/figures/replication.py en; python3 book/figures/replication.py pt-BR"""
import sys
T = {
 'en': dict(title='Topic replicated-events', sub='3 partitions, 3 replicas each, min.insync.replicas=2',
   rows=[('All three brokers run', 'in sync: 1, 2, 3 for every partition — acks=all waits for all three'),
         ('kafka-1 killed: partition 0 gets a new leader', 'in sync: 2, 3 — still two, so acks=all goes on'),
         ('kafka-2 killed too', 'in sync: 3 alone — fewer than 2: acks=all is refused (NOT_ENOUGH_REPLICAS)')],
   leader='leader', follower='follower', down='down', epoch='epoch',
   legend=['leader: takes every write and read', 'follower in sync: has all the leader acknowledged', 'replica on a broker that is down']),
 'pt-BR': dict(title='Tópico replicated-events', sub='3 partições, 3 réplicas cada, min.insync.replicas=2',
   rows=[('Os três brokers rodam', 'em sincronia: 1, 2, 3 em cada partição — acks=all espera os três'),
         ('kafka-1 derrubado: a partição 0 ganha um novo líder', 'em sincronia: 2, 3 — ainda dois, então acks=all continua'),
         ('kafka-2 derrubado também', 'em sincronia: só o 3 — menos de 2: acks=all é recusado (NOT_ENOUGH_REPLICAS)')],
   leader='líder', follower='seguidor', down='parado', epoch='época',
   legend=['líder: recebe toda escrita e leitura', 'seguidor em sincronia: tem tudo o que o líder confirmou', 'réplica num broker parado']),
}
lang = sys.argv[1]; t = T[lang]
W, rowh, top = 720, 178, 76
H = top + 3*rowh + 70
out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="15" fill="#111">',
       f'  <rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>',
       f'  <text x="24" y="34" font-size="19" font-weight="bold">{t["title"]}</text>',
       f'  <text x="24" y="58" font-size="15" fill="#374151">{t["sub"]}</text>']
# state per row: for each broker, up?, per partition role
leaders = [[1,2,3],[2,2,3],[3,3,3]]
down = [set(), {1}, {1,2}]
epochs = [[0,0,0],[1,0,0],[2,1,0]]
for r in range(3):
    y0 = top + r*rowh
    head, foot = t['rows'][r]
    out.append(f'  <text x="24" y="{y0+22}" font-weight="bold">{r+1}. {head}</text>')
    for b in (1,2,3):
        x = 24 + (b-1)*228
        isdown = b in down[r]
        stroke = '#9ca3af' if isdown else '#374151'
        dash = ' stroke-dasharray="6 4"' if isdown else ''
        out.append(f'  <rect x="{x}" y="{y0+34}" width="212" height="104" rx="10" fill="{"#f3f4f6" if isdown else "#f8fafc"}" stroke="{stroke}" stroke-width="1.5"{dash}/>')
        label = f'kafka-{b}' + (f' ({t["down"]})' if isdown else '')
        out.append(f'  <text x="{x+12}" y="{y0+56}" font-weight="bold" fill="{"#6b7280" if isdown else "#111"}">{label}</text>')
        for p in range(3):
            cx = x + 12 + p*66
            cy = y0 + 66
            if isdown:
                out.append(f'  <rect x="{cx}" y="{cy}" width="58" height="60" rx="6" fill="#ffffff" stroke="#9ca3af" stroke-width="1.5" stroke-dasharray="4 3"/>')
                out.append(f'  <text x="{cx+29}" y="{cy+26}" text-anchor="middle" fill="#9ca3af" font-weight="bold">P{p}</text>')
                out.append(f'  <text x="{cx+29}" y="{cy+46}" text-anchor="middle" fill="#9ca3af" font-size="12">{t["down"]}</text>')
            elif leaders[r][p] == b:
                out.append(f'  <rect x="{cx}" y="{cy}" width="58" height="60" rx="6" fill="#1d4ed8" stroke="#1e3a8a" stroke-width="1.5"/>')
                out.append(f'  <text x="{cx+29}" y="{cy+24}" text-anchor="middle" fill="#ffffff" font-weight="bold">P{p}</text>')
                out.append(f'  <text x="{cx+29}" y="{cy+40}" text-anchor="middle" fill="#ffffff" font-size="12">{t["leader"]}</text>')
                out.append(f'  <text x="{cx+29}" y="{cy+54}" text-anchor="middle" fill="#dbeafe" font-size="11">{t["epoch"]} {epochs[r][p]}</text>')
            else:
                out.append(f'  <rect x="{cx}" y="{cy}" width="58" height="60" rx="6" fill="#ffffff" stroke="#1d4ed8" stroke-width="2"/>')
                out.append(f'  <text x="{cx+29}" y="{cy+26}" text-anchor="middle" fill="#1d4ed8" font-weight="bold">P{p}</text>')
                out.append(f'  <text x="{cx+29}" y="{cy+46}" text-anchor="middle" fill="#1d4ed8" font-size="12">{t["follower"]}</text>')
    color = '#b91c1c' if r == 2 else '#166534'
    out.append(f'  <text x="24" y="{y0+162}" fill="{color}">{foot}</text>')
ly = top + 3*rowh + 20
items = [('#1d4ed8','#1e3a8a',''),('#ffffff','#1d4ed8',''),('#ffffff','#9ca3af',' stroke-dasharray="4 3"')]
xs = [24, 260, 540]
for i,(fill,stroke,dash) in enumerate(items):
    x = 24
    y = ly + i*0
for i,(fill,stroke,dash) in enumerate(items):
    y = ly + (i//3)*20
    x = [24, 24, 24][i]
out_leg = []
for i,(fill,stroke,dash) in enumerate(items):
    y = ly + i*18 - 6
    out.append(f'  <rect x="24" y="{y}" width="14" height="12" rx="2" fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/>')
    out.append(f'  <text x="46" y="{y+11}" font-size="13">{t["legend"][i]}</text>')
out.append('</svg>')
H2 = ly + 3*18 + 4
out[0] = out[0].replace(f'0 0 {W} {H}', f'0 0 {W} {H2}')
out[1] = out[1].replace(f'height="{H}"', f'height="{H2}"')
suffix = '' if lang=='en' else '.pt-BR'
open(__import__('pathlib').Path(__file__).resolve().parent.parent / 'src' / f'replication{suffix}.svg','w').write('\n'.join(out)+'\n')
