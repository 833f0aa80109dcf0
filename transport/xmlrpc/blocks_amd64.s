#include "textflag.h"

// Bytes repeated 32 times, for comparisons against a whole block.
#define BYTES32(name, v) \
	DATA name<>+0(SB)/8, $v; \
	DATA name<>+8(SB)/8, $v; \
	DATA name<>+16(SB)/8, $v; \
	DATA name<>+24(SB)/8, $v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

BYTES32(c20, 0x2020202020202020)
BYTES32(tab, 0x0909090909090909)
BYTES32(lf, 0x0a0a0a0a0a0a0a0a)
BYTES32(lt, 0x3c3c3c3c3c3c3c3c)
BYTES32(gt, 0x3e3e3e3e3e3e3e3e)
BYTES32(amp, 0x2626262626262626)
BYTES32(chA, 0x6161616161616161)
BYTES32(chM, 0x6d6d6d6d6d6d6d6d)
BYTES32(chP, 0x7070707070707070)
BYTES32(semi, 0x3b3b3b3b3b3b3b3b)
BYTES32(chL, 0x6c6c6c6c6c6c6c6c)
BYTES32(chG, 0x6767676767676767)
BYTES32(chT, 0x7474747474747474)
BYTES32(hash, 0x2323232323232323)
BYTES32(one, 0x3131313131313131)
BYTES32(three, 0x3333333333333333)
BYTES32(upA1, 0x4040404040404040)
BYTES32(upZ1, 0x5b5b5b5b5b5b5b5b)
BYTES32(loA1, 0x6060606060606060)
BYTES32(loZ1, 0x7b7b7b7b7b7b7b7b)
BYTES32(dig01, 0x2f2f2f2f2f2f2f2f)
BYTES32(dig91, 0x3a3a3a3a3a3a3a3a)
BYTES32(plus, 0x2b2b2b2b2b2b2b2b)

// CONTROLS sets Y5 to the bytes of the block in Y0 below 0x20 as signed
// bytes, tab and LF left out: control characters, CR among them, and
// bytes beyond ASCII. It uses Y6 and Y7.
#define CONTROLS \
	VMOVDQU  c20<>(SB), Y5; \
	VPCMPGTB Y0, Y5, Y5; \
	VPCMPEQB tab<>(SB), Y0, Y6; \
	VPCMPEQB lf<>(SB), Y0, Y7; \
	VPOR     Y6, Y7, Y6; \
	VPANDN   Y5, Y6, Y5

// func canonicalBlocksAVX2(b []byte) int
//
// Y0 the block, Y1-Y4 it shifted by 1-4 bytes, Y5 the stops, Y6-Y8
// scratch.
TEXT ·canonicalBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	XORQ AX, AX

loop:
	LEAQ 36(AX), DX
	CMPQ DX, BX
	JA   done
	VMOVDQU (SI)(AX*1), Y0

	// Controls other than tab and LF (CR among them), bytes beyond
	// ASCII, '<' and '>'.
	CONTROLS
	VPCMPEQB lt<>(SB), Y0, Y6
	VPOR     Y6, Y5, Y5
	VPCMPEQB gt<>(SB), Y0, Y6
	VPOR     Y6, Y5, Y5

	// '&' is a stop unless &amp;, &lt;, &gt; or &#13; starts there.
	VPCMPEQB amp<>(SB), Y0, Y8
	VPTEST   Y8, Y8
	JZ       tally
	VMOVDQU  1(SI)(AX*1), Y1
	VMOVDQU  2(SI)(AX*1), Y2
	VMOVDQU  3(SI)(AX*1), Y3
	VMOVDQU  4(SI)(AX*1), Y4
	VPCMPEQB semi<>(SB), Y3, Y6 // &lt; &gt;: ';' third
	VPCMPEQB chT<>(SB), Y2, Y7
	VPAND    Y7, Y6, Y6
	VPCMPEQB chL<>(SB), Y1, Y7
	VPCMPEQB chG<>(SB), Y1, Y9
	VPOR     Y9, Y7, Y7
	VPAND    Y7, Y6, Y6          // Y6: &lt; or &gt;
	VPCMPEQB semi<>(SB), Y4, Y7 // &amp; &#13;: ';' fourth
	VPCMPEQB chA<>(SB), Y1, Y9
	VPCMPEQB chM<>(SB), Y2, Y10
	VPAND    Y10, Y9, Y9
	VPCMPEQB chP<>(SB), Y3, Y10
	VPAND    Y10, Y9, Y9         // Y9: "amp"
	VPCMPEQB hash<>(SB), Y1, Y10
	VPCMPEQB one<>(SB), Y2, Y11
	VPAND    Y11, Y10, Y10
	VPCMPEQB three<>(SB), Y3, Y11
	VPAND    Y11, Y10, Y10       // Y10: "#13"
	VPOR     Y10, Y9, Y9
	VPAND    Y9, Y7, Y7          // Y7: &amp; or &#13;
	VPOR     Y7, Y6, Y6          // Y6: a canonical entity starts here
	VPANDN   Y8, Y6, Y8          // Y8: '&' that starts none
	VPOR     Y8, Y5, Y5

tally:
	VPMOVMSKB Y5, CX
	TESTL     CX, CX
	JNZ       found
	ADDQ      $32, AX
	JMP       loop

found:
	BSFL CX, CX
	ADDQ CX, AX

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET

// func base64BlocksAVX2(b []byte) int
TEXT ·base64BlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	XORQ AX, AX

b64loop:
	LEAQ 32(AX), DX
	CMPQ DX, BX
	JA   b64done
	VMOVDQU (SI)(AX*1), Y0

	// In the alphabet: 'A'-'Z', 'a'-'z', '0'-'9', '+' or '/'. Bytes
	// beyond ASCII are negative, below every bound.
	VPCMPGTB upA1<>(SB), Y0, Y5 // x > '@'
	VMOVDQU  upZ1<>(SB), Y6
	VPCMPGTB Y0, Y6, Y6         // '[' > x
	VPAND    Y6, Y5, Y5
	VPCMPGTB loA1<>(SB), Y0, Y6 // x > '`'
	VMOVDQU  loZ1<>(SB), Y7
	VPCMPGTB Y0, Y7, Y7         // '{' > x
	VPAND    Y7, Y6, Y6
	VPOR     Y6, Y5, Y5
	VPCMPGTB dig01<>(SB), Y0, Y6 // x > '/': digits
	VMOVDQU  dig91<>(SB), Y7
	VPCMPGTB Y0, Y7, Y7          // ':' > x
	VPAND    Y7, Y6, Y6
	VPOR     Y6, Y5, Y5
	VPCMPEQB plus<>(SB), Y0, Y6
	VPOR     Y6, Y5, Y5
	VPCMPEQB dig01<>(SB), Y0, Y6 // '/'
	VPOR     Y6, Y5, Y5

	VPMOVMSKB Y5, CX
	NOTL      CX
	TESTL     CX, CX
	JNZ       b64found
	ADDQ      $32, AX
	JMP       b64loop

b64found:
	BSFL CX, CX
	ADDQ CX, AX

b64done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET

BYTES32(cr, 0x0d0d0d0d0d0d0d0d)

// func scanBlocksAVX2(b []byte) (n, growth int)
//
// Y5 the stops; DI the growth.
TEXT ·scanBlocksAVX2(SB), NOSPLIT, $0-40
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	XORQ AX, AX
	XORQ DI, DI

scanloop:
	LEAQ 32(AX), DX
	CMPQ DX, BX
	JA   scandone
	VMOVDQU (SI)(AX*1), Y0

	// Controls other than tab, LF and CR, and bytes beyond ASCII.
	VMOVDQU  c20<>(SB), Y5
	VPCMPGTB Y0, Y5, Y5
	VPCMPEQB tab<>(SB), Y0, Y6
	VPCMPEQB lf<>(SB), Y0, Y7
	VPOR     Y6, Y7, Y6
	VPCMPEQB cr<>(SB), Y0, Y9
	VPOR     Y9, Y6, Y6
	VPANDN   Y5, Y6, Y5
	VPMOVMSKB Y5, CX

	// What escaping adds: 4 for '&' and CR, 3 for '<' and '>'.
	VPCMPEQB amp<>(SB), Y0, Y6
	VPOR     Y9, Y6, Y6
	VPMOVMSKB Y6, R8
	VPCMPEQB lt<>(SB), Y0, Y6
	VPCMPEQB gt<>(SB), Y0, Y7
	VPOR     Y7, Y6, Y6
	VPMOVMSKB Y6, R9
	TESTL    CX, CX
	JNZ      scanfound
	POPCNTL  R8, R8
	POPCNTL  R9, R9
	LEAQ     (DI)(R8*4), DI
	LEAQ     (R9)(R9*2), R9
	ADDQ     R9, DI
	ADDQ     $32, AX
	JMP      scanloop

scanfound:
	// Count only what comes before the stop.
	BSFL  CX, CX
	ADDQ  CX, AX
	MOVL  $1, DX
	SHLL  CX, DX
	DECL  DX
	ANDL  DX, R8
	ANDL  DX, R9
	POPCNTL R8, R8
	POPCNTL R9, R9
	LEAQ  (DI)(R8*4), DI
	LEAQ  (R9)(R9*2), R9
	ADDQ  R9, DI

scandone:
	VZEROUPPER
	MOVQ AX, n+24(FP)
	MOVQ DI, growth+32(FP)
	RET

// func escapeBlocksAVX2(dst, src []byte) (nd, ns int)
//
// A block's stops are found at once; then the runs between them are
// copied, each with one load and one store of 32 bytes (what lies beyond
// the run is written over next), and an entity written for each stop.
// DX counts what is written of dst, AX what is used of src, R8 the start
// of the run within the block, CX the stops not yet handled.
TEXT ·escapeBlocksAVX2(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), R10
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), BX
	XORQ AX, AX
	XORQ DX, DX

escloop:
	LEAQ 64(AX), R11 // a block, and the 32 bytes a run's load may read beyond it
	CMPQ R11, BX
	JA   escdone
	LEAQ 192(DX), R11 // a block of nothing but '&', and 32 bytes
	CMPQ R11, R10
	JA   escdone
	VMOVDQU (SI)(AX*1), Y0

	// Controls other than tab and LF (CR among them), bytes beyond
	// ASCII, '&', '<' and '>'.
	CONTROLS
	VPCMPEQB amp<>(SB), Y0, Y6
	VPOR     Y6, Y5, Y5
	VPCMPEQB lt<>(SB), Y0, Y6
	VPOR     Y6, Y5, Y5
	VPCMPEQB gt<>(SB), Y0, Y6
	VPOR     Y6, Y5, Y5
	VPMOVMSKB Y5, CX
	TESTL    CX, CX
	JNZ      escstops
	VMOVDQU  Y0, (DI)(DX*1)
	ADDQ     $32, AX
	ADDQ     $32, DX
	JMP      escloop

escstops:
	XORQ R8, R8

escnext:
	// The run before the next stop, at R9.
	BSFL    CX, R9
	LEAQ    (SI)(AX*1), R11
	VMOVDQU (R11)(R8*1), Y1
	VMOVDQU Y1, (DI)(DX*1)
	ADDQ    R9, DX
	SUBQ    R8, DX
	MOVQ    R9, R8
	MOVBLZX (R11)(R8*1), R12
	CMPB    R12, $0x26
	JEQ     escamp
	CMPB    R12, $0x3c
	JEQ     esclt
	CMPB    R12, $0x3e
	JEQ     escgt
	CMPB    R12, $0x0d
	JEQ     esccr
	// A control or a byte beyond ASCII: the Go code's.
	ADDQ R8, AX
	JMP  escdone

escamp:
	MOVQ $0x3b706d6126, R12 // "&amp;"
	MOVQ R12, (DI)(DX*1)
	ADDQ $5, DX
	JMP  escstopped

esclt:
	MOVQ $0x3b746c26, R12 // "&lt;"
	MOVQ R12, (DI)(DX*1)
	ADDQ $4, DX
	JMP  escstopped

escgt:
	MOVQ $0x3b746726, R12 // "&gt;"
	MOVQ R12, (DI)(DX*1)
	ADDQ $4, DX
	JMP  escstopped

esccr:
	MOVQ $0x3b33312326, R12 // "&#13;"
	MOVQ R12, (DI)(DX*1)
	ADDQ $5, DX

escstopped:
	INCQ  R8
	BLSRL CX, CX
	JNZ   escnext

	// The run after the block's last stop.
	VMOVDQU (R11)(R8*1), Y1
	VMOVDQU Y1, (DI)(DX*1)
	ADDQ    $32, DX
	SUBQ    R8, DX
	ADDQ    $32, AX
	JMP     escloop

escdone:
	VZEROUPPER
	MOVQ DX, nd+48(FP)
	MOVQ AX, ns+56(FP)
	RET

// func plainBlocksAVX2(b []byte) int
TEXT ·plainBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), BX
	XORQ AX, AX

plainloop:
	LEAQ 32(AX), DX
	CMPQ DX, BX
	JA   plaindone
	VMOVDQU (SI)(AX*1), Y0

	// Controls other than tab and LF (CR among them), bytes beyond
	// ASCII, '&' and '<'.
	CONTROLS
	VPCMPEQB amp<>(SB), Y0, Y6
	VPOR     Y6, Y5, Y5
	VPCMPEQB lt<>(SB), Y0, Y6
	VPOR     Y6, Y5, Y5
	VPMOVMSKB Y5, CX
	TESTL    CX, CX
	JNZ      plainfound
	ADDQ     $32, AX
	JMP      plainloop

plainfound:
	BSFL CX, CX
	ADDQ CX, AX

plaindone:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
