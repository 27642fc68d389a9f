/*
 * Intrusive doubly linked list (kernel list_head, fluent-bit mk_list): the link lives inside the
 * owning object, so linking and unlinking allocate nothing and unlinking is O(1) without knowing
 * which list the node is on. A list is a circular ring through a sentinel head.
 *
 * Convention: a node that is on no list has next == NULL (tw_list_node_init, tw_list_remove),
 * so "is this node linked?" is a pointer test and owners need no separate flag. A head is never
 * NULL-linked: an empty list points to itself.
 */
#ifndef TW_CORE_LIST_H
#define TW_CORE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct tw_list {
    struct tw_list *next; /* next node, or the head after the last; NULL when unlinked */
    struct tw_list *prev; /* previous node, or the head before the first */
};

/* The object of type 'type' whose member 'member' is at address 'ptr'. */
#define TW_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/*
 * Walk a list; 'it' may be removed (and freed) inside the body because the next node is read
 * first. Nodes other than 'it' must not be removed during the walk.
 */
#define TW_LIST_FOREACH_SAFE(it, tmp, head) \
    for ((it) = (head)->next, (tmp) = (it)->next; (it) != (head); (it) = (tmp), (tmp) = (it)->next)

/* Make 'head' an empty list. */
static inline void tw_list_init(struct tw_list *head)
{
    head->next = head;
    head->prev = head;
}

/* Mark a node as on no list. */
static inline void tw_list_node_init(struct tw_list *node)
{
    node->next = NULL;
    node->prev = NULL;
}

static inline bool tw_list_is_empty(const struct tw_list *head)
{
    return head->next == head;
}

/* True when 'node' is on some list (only meaningful for nodes, not heads). */
static inline bool tw_list_is_linked(const struct tw_list *node)
{
    return node->next != NULL;
}

/* Link 'node' (which must be unlinked) at the end of 'head'. */
static inline void tw_list_add_tail(struct tw_list *head, struct tw_list *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

/* Link 'node' (which must be unlinked) at the front of 'head'. */
static inline void tw_list_add_head(struct tw_list *head, struct tw_list *node)
{
    node->next = head->next;
    node->prev = head;
    head->next->prev = node;
    head->next = node;
}

/* Unlink 'node' from whatever list it is on; a no-op when it is on none. */
static inline void tw_list_remove(struct tw_list *node)
{
    if (node->next == NULL)
        return;
    node->prev->next = node->next;
    node->next->prev = node->prev;
    tw_list_node_init(node);
}

/* Move every node of 'src' to the end of 'dst' in O(1); 'src' is left empty. */
static inline void tw_list_splice_tail(struct tw_list *dst, struct tw_list *src)
{
    if (tw_list_is_empty(src))
        return;
    src->next->prev = dst->prev;
    dst->prev->next = src->next;
    src->prev->next = dst;
    dst->prev = src->prev;
    tw_list_init(src);
}

#endif /* TW_CORE_LIST_H */
