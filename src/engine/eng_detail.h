/*
** eng_detail.h: for backends: record why the calling thread's engine call
** failed, in words naming the object and the fix (engine.h eng_detail).
*/
#ifndef ENG_DETAIL_H
#define ENG_DETAIL_H

/* Record the detail of a failure with `status` (printf format). */
void eng_detail_set(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Forget the thread's detail (at the start of a call that may set one). */
void eng_detail_clear(void);

#endif
