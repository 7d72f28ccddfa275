package scrub_test
import ("testing";"fmt";"context";"strings";"encoding/json";"github.com/accord-dev/accord/internal/contract";"github.com/accord-dev/accord/internal/scrub")
type tk struct{}
func (tk) Tokenize(ctx context.Context, c, s, v string) (string, error) { return "tok_x", nil }
func TestX(t *testing.T){
 bad:=0
 for i:=0;i<200;i++{
 snap,err:=contract.LoadSnapshot("../../examples/contracts"); if err!=nil{t.Fatal(err)}
 s,_:=scrub.New(scrub.Config{HashSecret:"0123456789abcdef0123456789abcdef"}, scrub.Deps{Tokenizer:tk{}})
 var c *contract.Contract
 for _,x:=range snap.All(){ if x.Key.Name=="delivery_address_updated"{c=x.Contract}}
  v,_:=contract.DecodeJSON([]byte(`{"shop_id":"shop_2","customer_id":"c_x","order_id":"o_1","phone":"+447700900123","recipient_name":"Plantedname Surname","delivery_note":"n","postal_code":"SW1A 1AA","country":"GB","location":{"latitude":51.5,"longitude":-0.1},"updated_at":"2026-11-01T10:00:00Z"}`))
  ap,_:=s.Scrub(context.Background(), c, v)
  b,_:=json.Marshal(v); if strings.Contains(string(b),"Planted"){bad++; if bad<3 {fmt.Println(ap, string(b)); pl,_:=s.Plan(c); fmt.Printf("%+v\n", pl)}}
 }
 fmt.Println("bad", bad)
}
