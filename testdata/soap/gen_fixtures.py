#!/usr/bin/env python3
"""Regenerates the MTOM/SOAP wire fixtures in this folder (see README.md).

The fixtures are byte-exact (CRLF, LF-only, binary parts), which is why they
are written by a script rather than by hand. Run: python3 gen_fixtures.py
The .parts files list each attachment (Content-ID, Content-Type, size,
SHA-256) as computed here, independently of the Go code under test.
"""
import hashlib, base64, os
OUT=os.path.dirname(os.path.abspath(__file__))
FNR="12838549045"
PID=FNR+"^^^&amp;2.16.578.1.12.4.1.4.1&amp;ISO"

def sha(b): return hashlib.sha256(b).hexdigest()

def pnr_body(prefixes, docs):
    # docs: list of (docid, href)
    rim, lcm, xdsb = prefixes
    eos=""
    for i,(docid,href) in enumerate(docs):
        eos += (f'<{rim}ExtrinsicObject id="{docid}" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">'
                f'<{rim}ExternalIdentifier id="ei{i}" identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" registryObject="{docid}" value="{PID}">'
                f'<{rim}Name><{rim}LocalizedString value="XDSDocumentEntry.patientId"/></{rim}Name></{rim}ExternalIdentifier></{rim}ExtrinsicObject>')
    d=""
    for docid,href in docs:
        d += f'<{xdsb}Document id="{docid}"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="{href}"/></{xdsb}Document>'
    return (f'<{lcm}SubmitObjectsRequest><{rim}RegistryObjectList>{eos}</{rim}RegistryObjectList></{lcm}SubmitObjectsRequest>{d}')

CDA = b'<?xml version="1.0" encoding="UTF-8"?>\r\n<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Epikrise</title><recordTarget><patientRole><id root="2.16.578.1.12.4.1.4.1" extension="12838549045"/></patientRole></recordTarget></ClinicalDocument>\r\n'
def pdfish(boundary):
    return b"%PDF-1.4\n" + bytes(range(256)) + b"\r\n--" + boundary.encode()[:-3] + b"\r\n-- \r\n\n--\r\n%%EOF"

expect = {}
def write(name, head, body, parts):
    with open(os.path.join(OUT,name),"wb") as f:
        f.write(head.replace("\n","\r\n").encode()+b"\r\n"+body)
    if parts is not None:
        with open(os.path.join(OUT,name.replace(".http",".parts")),"w") as f:
            for cid,ct,content in parts:
                f.write(f"{cid}\t{ct}\t{len(content)}\t{sha(content)}\n")

# ---------- A. CXF / IPF ITI-41 ----------
b="uuid:6b7e3c5e-2fd4-4c63-9a8f-0d3c1a5b7e21"
c1="e3a1f6b2-54c1-4e0a-bb52-1f0d2c9a8e11-1@cxf.apache.org"
c2="e3a1f6b2-54c1-4e0a-bb52-1f0d2c9a8e11-2@cxf.apache.org"
act="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
env=('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header>'
 f'<Action xmlns="http://www.w3.org/2005/08/addressing" soap:mustUnderstand="true">{act}</Action>'
 '<MessageID xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:0b6c4c5e-6f0c-4a51-9d0c-3f1f3c1d2a01</MessageID>'
 '<To xmlns="http://www.w3.org/2005/08/addressing" soap:mustUnderstand="true">https://pjd.example/xds/repository</To>'
 '<ReplyTo xmlns="http://www.w3.org/2005/08/addressing"><Address>http://www.w3.org/2005/08/addressing/anonymous</Address></ReplyTo>'
 '</soap:Header><soap:Body><ns4:ProvideAndRegisterDocumentSetRequest xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" xmlns:ns2="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" xmlns:ns3="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:ns4="urn:ihe:iti:xds-b:2007">'
 + pnr_body(("","ns3:","ns4:"), [("Document01","cid:"+c1),("Document02","cid:"+c2)]) +
 '</ns4:ProvideAndRegisterDocumentSetRequest></soap:Body></soap:Envelope>')
pdf=pdfish(b)
body=(f'--{b}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"; action="{act}"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root.message@cxf.apache.org>\r\n\r\n').encode()+env.encode()+ \
  (f'\r\n--{b}\r\nContent-Type: text/xml\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{c1}>\r\n\r\n').encode()+CDA+ \
  (f'\r\n--{b}\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{c2}>\r\n\r\n').encode()+pdf+ \
  (f'\r\n--{b}--').encode()
head=(f'POST /xds/repository HTTP/1.1\nHost: pjd.example\nAccept: */*\nUser-Agent: Apache-CXF/3.5.5\nCache-Control: no-cache\nPragma: no-cache\nConnection: keep-alive\n'
 f'Content-Type: multipart/related; type="application/xop+xml"; boundary="{b}"; start="<root.message@cxf.apache.org>"; start-info="application/soap+xml"; action="{act}"\nContent-Length: {len(body)}\n')
write("cxf_iti41_request.http", head, body, [(c1,"text/xml",CDA),(c2,"application/pdf",pdf)])

# ---------- B. WCF ITI-41 ----------
b="uuid:4f5d2a77-1c1e-4b8a-9c55-0a6f1e2d3c4b+id=7"
cid="http://tempuri.org/1/638412345678901234"
href="cid:http%3A%2F%2Ftempuri.org%2F1%2F638412345678901234"
env=('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
 f'<a:Action s:mustUnderstand="1">{act}</a:Action>'
 '<a:MessageID>urn:uuid:7a1e4b2c-93d0-4f6e-8a7b-5c2d1e0f9a88</a:MessageID>'
 '<ActivityId CorrelationId="d3b4f7c2-1a2b-4c3d-9e8f-0a1b2c3d4e5f" xmlns="http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics">00000000-0000-0000-0000-000000000000</ActivityId>'
 '<VsDebuggerCausalityData xmlns="http://schemas.microsoft.com/vstudio/diagnostics/servicemodelsink">uIDPo1bMv3Z0FJRNtaWK/s5M2pMAAAAA</VsDebuggerCausalityData>'
 '<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>'
 '<a:To s:mustUnderstand="1">https://pjd.example/xds/repository</a:To></s:Header>'
 '<s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><ProvideAndRegisterDocumentSetRequest xmlns="urn:ihe:iti:xds-b:2007">'
 + pnr_body(("rim:","lcm:",""), [("Document01",href)]).replace('<lcm:SubmitObjectsRequest>','<lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">') +
 '</ProvideAndRegisterDocumentSetRequest></s:Body></s:Envelope>')
doc=b"\x00\x01\x02binary epikrise\r\n\r\n--uuid:4f5d2a77\r\n" + bytes(range(255,-1,-1)) + b"\r\n"
body=(f'--{b}\r\nContent-ID: <http://tempuri.org/0>\r\nContent-Transfer-Encoding: 8bit\r\nContent-Type: application/xop+xml;charset=utf-8;type="application/soap+xml"\r\n\r\n').encode()+env.encode()+ \
  (f'\r\n--{b}\r\nContent-ID: <{cid}>\r\nContent-Transfer-Encoding: binary\r\nContent-Type: application/octet-stream\r\n\r\n').encode()+doc+ \
  (f'\r\n--{b}--\r\n').encode()
head=(f'POST /xds/repository HTTP/1.1\nMIME-Version: 1.0\nContent-Type: multipart/related; type="application/xop+xml";start="<http://tempuri.org/0>";boundary="{b}";start-info="application/soap+xml"\nHost: pjd.example\nContent-Length: {len(body)}\nExpect: 100-continue\nAccept-Encoding: gzip, deflate\n')
write("wcf_iti41_request.http", head, body, [(cid,"application/octet-stream",doc)])

# ---------- C. NIST/Axis2-like ITI-43 request: unquoted boundary, start without <>, preamble, epilogue ----------
b="MIMEBoundary_urn_uuid_3A9F1E2D4C5B6A7988776655443322"
act43="urn:ihe:iti:2007:RetrieveDocumentSet"
env=('<?xml version="1.0" encoding="UTF-8"?>\r\n<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"><soapenv:Header xmlns:wsa="http://www.w3.org/2005/08/addressing">'
 '<wsa:To soapenv:mustUnderstand="true">https://pjd.example/xds/repository</wsa:To>'
 '<wsa:MessageID soapenv:mustUnderstand="true">urn:uuid:3A9F1E2D4C5B6A798877665544332211</wsa:MessageID>'
 f'<wsa:Action soapenv:mustUnderstand="true">{act43}</wsa:Action></soapenv:Header>'
 '<soapenv:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsb:DocumentRequest>'
 '<xdsb:RepositoryUniqueId>2.16.578.1.12.4.5.100.1</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>2.16.578.1.12.4.5.100.1.2.3</xdsb:DocumentUniqueId>'
 '</xdsb:DocumentRequest></xdsb:RetrieveDocumentSetRequest></soapenv:Body></soapenv:Envelope>')
body=(b"This is a multi-part message in MIME format.\r\n\r\n"+
  (f'--{b}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <0.urn:uuid:3A9F1E2D4C5B6A798877665544332210@apache.org>\r\n\r\n').encode()+env.encode()+
  (f'\r\n--{b}--\r\nEpilogue: ignored by every reader.\r\n').encode())
head=(f'POST /xds/repository HTTP/1.1\nContent-Type: multipart/related; boundary={b}; type="application/xop+xml"; start="0.urn:uuid:3A9F1E2D4C5B6A798877665544332210@apache.org"; start-info="application/soap+xml"; action="{act43}"\nUser-Agent: Axis2\nHost: pjd.example\nTransfer-Encoding: chunked\n')
# chunked body
chunked = b""
for i in range(0,len(body),500):
    c=body[i:i+500]; chunked += f"{len(c):x}\r\n".encode()+c+b"\r\n"
chunked += b"0\r\n\r\n"
write("nist_iti43_request.http", head, chunked, [])

# ---------- D. LF-only, lowercase headers, base64 attachment, extra headers ----------
b="----=_Part_7_1183226917.1718000000000"
c="doc1@sender.example"
env=('<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header>'
 f'<wsa:Action>{act}</wsa:Action><wsa:MessageID>urn:uuid:5d0c7e1a-2b3c-4d5e-8f90-a1b2c3d4e5f6</wsa:MessageID>'
 '</env:Header><env:Body><xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007" xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">'
 + pnr_body(("rim:","lcm:","xdsb:"), [("Document01","cid:"+c)]) +
 '</xdsb:ProvideAndRegisterDocumentSetRequest></env:Body></env:Envelope>')
raw = b"Epikrise for pasient " + FNR.encode() + b"\nLinje 2 med \xc3\xa6\xc3\xb8\xc3\xa5\n" + bytes(range(0,256,3))
b64 = base64.encodebytes(raw).replace(b"\r\n",b"\n")  # 76-col lines, LF
body=(f'--{b}\ncontent-type: application/xop+xml; charset=utf-8; type="application/soap+xml"\ncontent-transfer-encoding: 8bit\ncontent-id: <root@sender.example>\n\n').encode()+env.encode()+ \
  (f'\n--{b}\ncontent-type: text/plain; charset=utf-8\ncontent-transfer-encoding: base64\ncontent-id: <{c}>\ncontent-disposition: attachment; filename="epikrise.txt"\ncontent-description: Epikrise\n\n').encode()+b64+ \
  (f'--{b}--\n').encode()
head=(f'POST /xds/repository HTTP/1.1\nHost: pjd.example\nContent-Type: Multipart/Related; Type="application/xop+xml"; Boundary="{b}"; Start="<root@sender.example>"\nContent-Length: {len(body)}\n')
write("lf_base64_iti41_request.http", head, body, [(c,"text/plain; charset=utf-8",raw)])

# ---------- Negative fixtures ----------
def simple_mtom(name, envelope, parts, start="<root@x>", extra_ct="", close=True, roottype='application/xop+xml; charset=UTF-8; type="application/soap+xml"'):
    b="bnd-negative-1"
    body=(f'--{b}\r\nContent-Type: {roottype}\r\nContent-ID: <root@x>\r\n\r\n').encode()+envelope.encode()
    for pcid,content in parts:
        body += (f'\r\n--{b}\r\nContent-Type: application/octet-stream\r\nContent-ID: <{pcid}>\r\n\r\n').encode()+content
    if close: body += f'\r\n--{b}--\r\n'.encode()
    head=f'POST /xds/repository HTTP/1.1\nHost: pjd.example\nContent-Type: multipart/related; type="application/xop+xml"; boundary="{b}"; start="{start}"; start-info="application/soap+xml"{extra_ct}\nContent-Length: {len(body)}\n'
    write(name, head, body, None)

def env12(bodyxml, action=act):
    return ('<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header>'
        f'<wsa:Action>{action}</wsa:Action><wsa:MessageID>urn:uuid:11111111-2222-4333-8444-555555555555</wsa:MessageID></env:Header><env:Body>{bodyxml}</env:Body></env:Envelope>')
inc=lambda h: f'<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><xdsb:Document id="Document01"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="{h}"/></xdsb:Document></xdsb:ProvideAndRegisterDocumentSetRequest>'
simple_mtom("bad_start_not_first.http", env12(inc("cid:a@x")), [("a@x", b"data")], start="<a@x>")
simple_mtom("bad_truncated.http", env12(inc("cid:a@x")), [("a@x", b"data that never ends")], close=False)
simple_mtom("bad_include_file.http", env12(inc("file:///etc/passwd")), [])
simple_mtom("bad_missing_part.http", env12(inc("cid:a@x")), [])
simple_mtom("bad_unreferenced_part.http", env12(inc("cid:a@x")), [("a@x", b"right part"), ("b@x", b"extra part")])
simple_mtom("bad_duplicate_part.http", env12(inc("cid:a@x")), [("a@x", b"one"),("a@x", b"two")])
simple_mtom("bad_soap11_root.http", env12(inc("cid:a@x")), [("a@x", b"x")], roottype='application/xop+xml; charset=UTF-8; type="text/xml"')
simple_mtom("bad_action_mismatch.http", env12(inc("cid:a@x")), [("a@x", b"x")], extra_ct='; action="urn:ihe:iti:2007:RegisterDocumentSet-b"')
print("ok")

# ---------- Responses (read by Client); RELATES placeholder replaced by the test server ----------
R="urn:uuid:00000000-0000-4000-8000-RELATESTO000"
def write_resp(name, status, headers, body, parts):
    head=f"HTTP/1.1 {status}\n"+"".join(h+"\n" for h in headers)+f"Content-Length: {len(body)}\n"
    write(name, head, body, parts)

b="uuid:a7c3e9d1-0f2b-4c6d-8e1f-2a3b4c5d6e7f"
c="9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a-1@cxf.apache.org"
env=('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header>'
 '<Action xmlns="http://www.w3.org/2005/08/addressing">urn:ihe:iti:2007:RetrieveDocumentSetResponse</Action>'
 '<MessageID xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:c0ffee00-1234-4abc-9def-001122334455</MessageID>'
 '<To xmlns="http://www.w3.org/2005/08/addressing">http://www.w3.org/2005/08/addressing/anonymous</To>'
 f'<RelatesTo xmlns="http://www.w3.org/2005/08/addressing">{R}</RelatesTo></soap:Header><soap:Body>'
 '<ns2:RetrieveDocumentSetResponse xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" xmlns:ns2="urn:ihe:iti:xds-b:2007">'
 '<RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/><ns2:DocumentResponse>'
 '<ns2:RepositoryUniqueId>2.16.578.1.12.4.5.100.1</ns2:RepositoryUniqueId><ns2:DocumentUniqueId>2.16.578.1.12.4.5.100.1.2.3</ns2:DocumentUniqueId>'
 f'<ns2:mimeType>text/xml</ns2:mimeType><ns2:Document><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:{c}"/></ns2:Document>'
 '</ns2:DocumentResponse></ns2:RetrieveDocumentSetResponse></soap:Body></soap:Envelope>')
body=(f'--{b}\r\nContent-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root.message@cxf.apache.org>\r\n\r\n').encode()+env.encode()+ \
  (f'\r\n--{b}\r\nContent-Type: text/xml\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{c}>\r\n\r\n').encode()+CDA+ \
  (f'\r\n--{b}--').encode()
write_resp("cxf_iti43_response.http", "200 OK", [
  f'Content-Type: multipart/related; type="application/xop+xml"; boundary="{b}"; start="<root.message@cxf.apache.org>"; start-info="application/soap+xml"',
  "Server: Jetty(9.4.51.v20230217)"], body, [(c,"text/xml",CDA)])

b="uuid:0e1d2c3b-4a59-4687-9a6b-7c8d9e0f1a2b+id=12"
cid="http://tempuri.org/1/638412345699999999"
env=('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
 '<a:Action s:mustUnderstand="1">urn:ihe:iti:2007:CrossGatewayRetrieveResponse</a:Action>'
 f'<a:RelatesTo>{R}</a:RelatesTo></s:Header><s:Body>'
 '<RetrieveDocumentSetResponse xmlns="urn:ihe:iti:xds-b:2007"><RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success" xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"/>'
 '<DocumentResponse><HomeCommunityId>urn:oid:2.16.578.1.12.4.5.100.9</HomeCommunityId><RepositoryUniqueId>2.16.578.1.12.4.5.100.1</RepositoryUniqueId><DocumentUniqueId>2.16.578.1.12.4.5.100.1.2.4</DocumentUniqueId><mimeType>application/pdf</mimeType>'
 '<Document><xop:Include href="cid:http%3A%2F%2Ftempuri.org%2F1%2F638412345699999999" xmlns:xop="http://www.w3.org/2004/08/xop/include"/></Document></DocumentResponse>'
 '</RetrieveDocumentSetResponse></s:Body></s:Envelope>')
pdf2=pdfish(b)
body=(f'--{b}\r\nContent-ID: <http://tempuri.org/0>\r\nContent-Transfer-Encoding: 8bit\r\nContent-Type: application/xop+xml;charset=utf-8;type="application/soap+xml"\r\n\r\n').encode()+env.encode()+ \
  (f'\r\n--{b}\r\nContent-ID: <{cid}>\r\nContent-Transfer-Encoding: binary\r\nContent-Type: application/octet-stream\r\n\r\n').encode()+pdf2+ \
  (f'\r\n--{b}--\r\n').encode()
write_resp("wcf_iti39_response.http", "200 OK", [
  f'Content-Type: multipart/related; type="application/xop+xml";start="<http://tempuri.org/0>";boundary="{b}";start-info="application/soap+xml"',
  "Server: Microsoft-IIS/10.0", "X-Powered-By: ASP.NET"], body, [(cid,"application/octet-stream",pdf2)])

env=('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header>'
 '<Action xmlns="http://www.w3.org/2005/08/addressing">http://www.w3.org/2005/08/addressing/fault</Action>'
 '<MessageID xmlns="http://www.w3.org/2005/08/addressing">urn:uuid:deadbeef-0000-4000-8000-000000000001</MessageID>'
 f'<RelatesTo xmlns="http://www.w3.org/2005/08/addressing">{R}</RelatesTo></soap:Header><soap:Body>'
 '<soap:Fault><soap:Code><soap:Value>soap:Sender</soap:Value><soap:Subcode><soap:Value xmlns:ns1="http://www.w3.org/2005/08/addressing">ns1:ActionNotSupported</soap:Value></soap:Subcode></soap:Code>'
 '<soap:Reason><soap:Text xml:lang="en">A SOAP 1.2 message is not valid for this operation</soap:Text></soap:Reason>'
 '<soap:Detail><ProblemAction xmlns="http://www.w3.org/2005/08/addressing"><Action>urn:ihe:iti:2007:Unknown</Action></ProblemAction></soap:Detail></soap:Fault></soap:Body></soap:Envelope>')
write_resp("cxf_fault_response.http", "400 Bad Request", ["Content-Type: application/soap+xml;charset=UTF-8"], env.encode(), None)
print("ok2")
