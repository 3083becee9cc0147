# Sourced by bench/audiences.sh and bench/scale.sh: the audience benchmark's five rules, by audience id, in RULE.
# AUDIENCE_IDS lists them in order.
declare -A RULE
RULE[loan_2m]='{"interaction":"loan_application","window":{"last":{"n":2,"unit":"month"}},"where":[{"param":"amount","op":"gte","value":5000},{"param":"approved","op":"is_true"}]}'
RULE[nike_2]='{"interaction":"view","item":[{"attr":"brand","op":"eq","value":"Nike"}],"window":{"last":{"n":30,"unit":"day"}},"cmp":{"op":"gte","value":2}}'
RULE[shoes_2]='{"interaction":"cart","item":[{"attr":"category","op":"in","value":["shoes"]}],"window":{"last":{"n":30,"unit":"day"}},"measure":{"agg":"distinct_items"},"cmp":{"op":"gte","value":2}}'
RULE[value_500]='{"interaction":"purchase","window":{"last":{"n":90,"unit":"day"}},"measure":{"agg":"sum","param":"value"},"cmp":{"op":"gte","value":500}}'
RULE[no_purchase]='{"all":[{"interaction":"cart","window":{"last":{"n":1,"unit":"week"}}},{"interaction":"purchase","window":{"last":{"n":1,"unit":"week"}},"cmp":{"op":"eq","value":0}}]}'
AUDIENCE_IDS=(loan_2m nike_2 shoes_2 value_500 no_purchase)
