/**
 * A destructive step asks first: wx.showModal with the action's name on the confirm button, in the warning colour.
 * Resolves true only when the user confirmed.
 */
export function confirmDanger(title: string, content: string, confirmText: string): Promise<boolean> {
  return new Promise((resolve) => {
    wx.showModal({
      title,
      content,
      confirmText,
      confirmColor: '#d54941',
      cancelText: '再想想',
      success: (r) => resolve(!!r.confirm),
      fail: () => resolve(false),
    });
  });
}
